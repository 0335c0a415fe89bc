"""The reader's precompiled shared-formula translator gives exactly translate_formula's text."""

from __future__ import annotations

import pytest

from calcwire.formula import translate_formula
from calcwire.workbook._shared_formulas import translator

FORMULAS = [
    "A1",
    "$A$1+A$1+$A1",
    "SUM(B2:C$9)*'My Sheet'!D4/Sheet2!$E5",
    'IF(A1="B2",C3,"D4&E5")',
    "SUM(A:A)+SUM($B:C)+SUM(3:4)+SUM($5:6)",
    "[1]Rates!B3+[2]!Name+Table1[Col]",
    "a1+b$2",  # lower case, as some writers store it
    "LOG10(A1)+ATAN2(B1,C1)+R1C1",  # function names that look like references
    "A1048576+XFD1+A1:XFD1048576",
    "#REF!+Sheet1!#REF!",
    "Rate*12",
    "",
    "A01+B007",
]
OFFSETS = [(0, 0), (0, 1), (1, 0), (5, 3), (-1, 0), (0, -1), (1, 16384), (1048576, 0), (-3, -2)]


class TestTranslator:
    @pytest.mark.parametrize("formula", FORMULAS)
    def test_same_as_translate_formula(self, formula: str) -> None:
        move = translator(formula)
        for dr, dc in OFFSETS:
            assert move(dr, dc) == translate_formula(formula, dr, dc), (formula, dr, dc)
