"""The formula parser: precedence, references, names, constants."""

from __future__ import annotations

import pytest
from engine_helpers import calculate, evaluate

from calcwire.formula import FormulaSyntaxError
from calcwire.values import XlError
from eval_svc.engine.ast import Area, Binary, CellRef, Num, Unary
from eval_svc.engine.parser import parse_formula


class _NoBook:
    def sheet_index(self, name: str) -> int | None:
        return {"SHEET1": 0, "MY SHEET": 1}.get(name.upper())

    def external_sheet(self, book: int, sheet: str) -> int | None:
        return None

    def defined_name(self, name: str, sheet: int | None) -> None:
        return None

    def external_name(self, book: int, name: str) -> None:
        return None

    def is_function(self, name: str) -> bool:
        return name in ("SUM", "IF")


def parse(text: str, row: int = 5, col: int = 5) -> object:
    return parse_formula(text, row, col, 0, _NoBook())


class TestPrecedence:
    @pytest.mark.parametrize(
        ("formula", "expected"),
        [
            ("-2^2", 4.0),
            ("2^3^2", 64.0),
            ("1+2*3", 7.0),
            ("(1+2)*3", 9.0),
            ("2*-3", -6.0),
            ("10-2-3", 5.0),
            ("50%*2", 1.0),
            ("-50%", -0.5),
            ("1+2&3", "33"),
            ("1+1=2", True),
            ('"a"&1+1', "a2"),
            ("2^-1", 0.5),
        ],
    )
    def test_values(self, formula: str, expected: object) -> None:
        assert evaluate(formula) == expected

    def test_unary_minus_binds_tighter_than_power(self) -> None:
        node = parse("-A1^2")
        assert isinstance(node, Binary) and node.op == "^"
        assert isinstance(node.left, Unary)


class TestReferences:
    def test_relative_parts_are_offsets(self) -> None:
        node = parse("B3", row=5, col=5)
        assert node == CellRef(0, -2, -3, False, False)

    def test_absolute_parts_are_coordinates(self) -> None:
        assert parse("$B$3") == CellRef(0, 3, 2, True, True)

    def test_sheet_prefixes(self) -> None:
        node = parse("'My sheet'!$A$1:$B$2")
        assert isinstance(node, Area) and node.sheet == 1

    def test_unknown_sheet_is_ref_error(self) -> None:
        assert evaluate("Nope!A1") is XlError.REF

    def test_whole_columns_and_rows(self) -> None:
        assert evaluate("SUM(A:A)", {"A1": 1.0, "A7": 2.0}) == 3.0
        assert evaluate("SUM(2:2)", {"A2": 1.0, "C2": 5.0}) == 6.0

    def test_range_union_and_intersection(self) -> None:
        cells = {"A1": 1.0, "A2": 2.0, "B1": 10.0, "B2": 20.0}
        assert evaluate("SUM((A1,B2))", cells) == 21.0
        assert evaluate("SUM(A1:B2 B1:B2)", cells) == 30.0
        assert evaluate("SUM(A1:A2 B1:B2)", cells) is XlError.NULL

    def test_numbers_parse(self) -> None:
        assert parse("1.5E+3") == Num(1500.0)


class TestSyntax:
    @pytest.mark.parametrize("bad", ["1+", "SUM(1", "(1))", "1 2", ")"])
    def test_bad_formulas_raise(self, bad: str) -> None:
        with pytest.raises(FormulaSyntaxError):
            parse(bad)

    def test_bad_formula_is_not_computable(self) -> None:
        _, results = calculate({"S": {"A1": "=1+"}})
        assert results["S!A1"].status == "not_computable"
        assert "cannot parse" in (results["S!A1"].reason or "")


class TestConstants:
    def test_array_constants(self) -> None:
        assert evaluate("SUM({1,2;3,4})") == 10.0
        assert evaluate('INDEX({1,"x";TRUE,#N/A},2,2)') is XlError.NA
        assert evaluate("ROWS({1;2;3})") == 3.0

    def test_errors_and_booleans(self) -> None:
        assert evaluate("#DIV/0!") is XlError.DIV0
        assert evaluate("TRUE") is True
        assert evaluate("true") is True
