"""The shared formula text tools: A1 helpers, tokenizer, translation, shape keys."""

from __future__ import annotations

import pytest

from calcwire.formula import (
    FormulaSyntaxError,
    TokenKind,
    column_index,
    column_letters,
    parse_a1,
    parse_range,
    shape_key,
    tokenize,
    translate_formula,
)


class TestColumns:
    @pytest.mark.parametrize(
        ("col", "letters"),
        [(1, "A"), (26, "Z"), (27, "AA"), (28, "AB"), (702, "ZZ"), (703, "AAA"), (16384, "XFD")],
    )
    def test_round_trip(self, col: int, letters: str) -> None:
        assert column_letters(col) == letters
        assert column_index(letters) == col
        assert column_index(letters.lower()) == col

    @pytest.mark.parametrize("bad", ["", "XFE", "ABCD", "A1", "é"])
    def test_bad_letters_are_refused(self, bad: str) -> None:
        with pytest.raises(ValueError):
            column_index(bad)

    @pytest.mark.parametrize("bad", [0, -1, 16385])
    def test_bad_numbers_are_refused(self, bad: int) -> None:
        with pytest.raises(ValueError):
            column_letters(bad)


class TestParseA1:
    def test_cells(self) -> None:
        assert parse_a1("$B$7") == (7, 2)
        assert parse_a1("b7") == (7, 2)
        assert parse_a1("Sheet1!XFD1048576") == (1048576, 16384)
        assert parse_a1("'My sheet'!C3") == (3, 3)

    @pytest.mark.parametrize("bad", ["A0", "A1048577", "1A", "A1:B2", ""])
    def test_bad_cells_are_refused(self, bad: str) -> None:
        with pytest.raises(ValueError):
            parse_a1(bad)

    def test_ranges(self) -> None:
        assert parse_range("A1:C3") == (1, 1, 3, 3)
        assert parse_range("C3:A1") == (1, 1, 3, 3)
        assert parse_range("B2") == (2, 2, 2, 2)
        assert parse_range("$B:$D") == (1, 2, 1048576, 4)
        assert parse_range("2:5") == (2, 1, 5, 16384)
        assert parse_range("Data!$A$1:$B$9") == (1, 1, 9, 2)


class TestTokenize:
    def kinds(self, formula: str) -> list[tuple[str, str]]:
        return [(t.kind.value, t.text) for t in tokenize(formula)]

    def test_operators_and_operands(self) -> None:
        assert self.kinds('SUM(A1:B$2)*-$C3%&"a""b"') == [
            ("FUNC", "SUM("),
            ("REF", "A1:B$2"),
            ("RPAREN", ")"),
            ("OP", "*"),
            ("OP", "-"),
            ("REF", "$C3"),
            ("OP", "%"),
            ("OP", "&"),
            ("STRING", '"a""b"'),
        ]

    def test_prefixed_references(self) -> None:
        texts = [
            "'My sheet'!A1",
            "[1]Rates!$B$2",
            "Sheet1!#REF!",
            "Sheet1:Sheet3!A1",
            "'[2]x y'!C:C",
            "Data!2:3",
        ]
        for text in texts:
            assert self.kinds(text) == [("REF", text)]

    def test_names_and_functions_that_look_like_cells(self) -> None:
        assert self.kinds("LOG10(A1)") == [("FUNC", "LOG10("), ("REF", "A1"), ("RPAREN", ")")]
        assert self.kinds("A1B+Rev_2019+[1]!Rate+FY2020!B3") == [
            ("NAME", "A1B"),
            ("OP", "+"),
            ("NAME", "Rev_2019"),
            ("OP", "+"),
            ("NAME", "[1]!Rate"),
            ("OP", "+"),
            ("REF", "FY2020!B3"),
        ]

    def test_numbers_errors_arrays(self) -> None:
        assert self.kinds('1E+5+.5+#N/A+{1,-2;"x}",TRUE}') == [
            ("NUMBER", "1E+5"),
            ("OP", "+"),
            ("NUMBER", ".5"),
            ("OP", "+"),
            ("ERROR", "#N/A"),
            ("OP", "+"),
            ("ARRAY", '{1,-2;"x}",TRUE}'),
        ]

    def test_lambda_call_and_spaces(self) -> None:
        assert self.kinds("_xlfn.LAMBDA(_xlpm.x,_xlpm.x+1)(2) + A1:B2 B2") == [
            ("FUNC", "_xlfn.LAMBDA("),
            ("NAME", "_xlpm.x"),
            ("COMMA", ","),
            ("NAME", "_xlpm.x"),
            ("OP", "+"),
            ("NUMBER", "1"),
            ("RPAREN", ")"),
            ("LPAREN", "("),
            ("NUMBER", "2"),
            ("RPAREN", ")"),
            ("SPACE", " "),
            ("OP", "+"),
            ("SPACE", " "),
            ("REF", "A1:B2"),
            ("SPACE", " "),
            ("REF", "B2"),
        ]

    def test_structured_references(self) -> None:
        assert self.kinds("SUM(Table1[[#This Row],[Qty]])+[@Qty]") == [
            ("FUNC", "SUM("),
            ("STRUCTREF", "Table1[[#This Row],[Qty]]"),
            ("RPAREN", ")"),
            ("OP", "+"),
            ("STRUCTREF", "[@Qty]"),
        ]

    def test_bad_text_is_refused(self) -> None:
        with pytest.raises(FormulaSyntaxError):
            tokenize('A1+"unclosed')
        with pytest.raises(FormulaSyntaxError):
            tokenize("A1 ? 2")

    def test_tokens_cover_the_text(self) -> None:
        formula = "IF('a b'!$A$1>=2,\"x\",[1]S!B:B)"
        assert "".join(t.text for t in tokenize(formula)) == formula
        assert tokenize(formula)[0].kind is TokenKind.FUNC


class TestTranslateFormula:
    def test_relative_parts_move_absolute_parts_stay(self) -> None:
        assert translate_formula("SUM(A1:B$2)*$C3+$D$4", 2, 1) == "SUM(B3:C$2)*$C5+$D$4"

    def test_whole_rows_and_columns(self) -> None:
        assert translate_formula("SUM(A:B)+SUM(1:$2)", 1, 1) == "SUM(B:C)+SUM(2:$2)"

    def test_strings_sheet_names_and_names_are_untouched(self) -> None:
        formula = "A1&\"A1\"&'A1 b'!A1&[1]S!A1&LOG10(A1)&Rate2+FY2020!A1"
        assert translate_formula(formula, 1, 0) == (
            "A2&\"A1\"&'A1 b'!A2&[1]S!A2&LOG10(A2)&Rate2+FY2020!A2"
        )

    def test_off_the_sheet_becomes_ref_error(self) -> None:
        assert translate_formula("A1+1", -1, 0) == "#REF!+1"
        assert translate_formula("Sheet2!A1:B2", 0, -1) == "Sheet2!#REF!"
        assert translate_formula("XFD1", 0, 1) == "#REF!"
        assert translate_formula("$A$1+A1048576", 1, 0) == "$A$1+#REF!"

    def test_zero_offset_is_identity(self) -> None:
        assert translate_formula("A1+B2", 0, 0) == "A1+B2"


class TestShapeKey:
    def test_copies_share_a_key(self) -> None:
        assert shape_key("B2*(1+$A$1)", 2, 3) == shape_key("C5*(1+$A$1)", 5, 4)
        assert shape_key("SUM(A:A)", 1, 2) == shape_key("SUM(B:B)", 9, 3)

    def test_different_formulas_differ(self) -> None:
        assert shape_key("B2", 2, 3) != shape_key("$B2", 2, 3)
        assert shape_key("B2", 2, 3) != shape_key("B3", 2, 3)
        assert shape_key("'Q1 x'!B2", 1, 1) != shape_key("'Q2 x'!B3", 2, 1)

    def test_a_key_never_equals_a_name(self) -> None:
        assert shape_key("A1", 1, 1) != shape_key("r0c0", 1, 1)
