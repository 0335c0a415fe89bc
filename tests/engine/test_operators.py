"""Operators with Excel's coercion, comparison order and number formatting."""

from __future__ import annotations

import pytest
from engine_helpers import evaluate

from calcwire.values import XlError
from eval_svc.engine.runtime import number_to_text, text_to_number


class TestArithmeticCoercion:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ('"3"+1', 4.0),
            ("TRUE+1", 2.0),
            ("A1+1", 1.0),  # empty is 0
            ('" 2 "*2', 4.0),
            ('"1,000"+1', 1001.0),
            ('"50%"*2', 1.0),
            ('"$12"+0', 12.0),
            ('"(5)"+0', -5.0),
            ('"2020-01-15"+0', 43845.0),
            ('"12:00"*2', 1.0),
        ],
    )
    def test_text_and_logicals_convert(self, formula: str, expected: float) -> None:
        assert evaluate(formula) == expected

    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ('"abc"+1', XlError.VALUE),
            ("1/0", XlError.DIV0),
            ("0^0", XlError.NUM),
            ("(-8)^0.5", XlError.NUM),
            ("#N/A+1", XlError.NA),
            ("1+#REF!", XlError.REF),
            ("#DIV/0!+#N/A", XlError.DIV0),
            ("10^400", XlError.NUM),
        ],
    )
    def test_errors(self, formula: str, expected: XlError) -> None:
        assert evaluate(formula) is expected

    def test_final_subtraction_rounds_noise_to_zero(self) -> None:
        assert evaluate("0.5-0.4-0.1") == 0.0
        assert evaluate("1*(0.5-0.4-0.1)") != 0.0


class TestComparison:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ('1<"a"', True),
            ('"z"<TRUE', True),
            ('"abc"="ABC"', True),
            ('"a"<"B"', True),
            ("A1=0", True),
            ('A1=""', True),
            ("A1=FALSE", True),
            ("0.1+0.2=0.3", True),
            ("2>=2", True),
            ("#N/A=1", XlError.NA),
        ],
    )
    def test_ordering(self, formula: str, expected: object) -> None:
        assert evaluate(formula) == expected


class TestConcatenation:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ('1/3&""', "0.333333333333333"),
            ('1E+20&""', "1E+20"),
            ('123456789012345&""', "123456789012345"),
            ('0.00001&""', "0.00001"),
            ('0.000001&""', "1E-06"),
            ('TRUE&"x"', "TRUEx"),
            ('A1&"x"', "x"),
            ('-0.5&""', "-0.5"),
        ],
    )
    def test_numbers_as_text(self, formula: str, expected: str) -> None:
        assert evaluate(formula) == expected


class TestConversions:
    def test_number_to_text(self) -> None:
        assert number_to_text(2.0) == "2"
        assert number_to_text(0.1 + 0.2) == "0.3"

    def test_text_to_number(self) -> None:
        assert text_to_number("1e3") == 1000.0
        assert text_to_number("x") is XlError.VALUE
