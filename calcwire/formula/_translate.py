"""Moving formulas between cells: relative references shift, absolute ones stay.

Both functions here rewrite only the references of a formula with one regular
expression substitution, leaving every other character (strings, quoted sheet
names, external-book indices, names, functions) untouched.
"""

from __future__ import annotations

import re
from typing import Final

from calcwire.formula._references import MAX_COL, MAX_ROW, column_index, column_letters
from calcwire.formula._tokenizer import QUOTED, REF_END, STRING

__all__ = ["shape_key", "translate_formula"]

_C = r"(\$?)([A-Za-z]{1,3})"
_R = r"(\$?)([0-9]{1,7})"
_REWRITE_RE: Final = re.compile(
    rf"""
    {STRING}|{QUOTED}|\[[^\]]*\]
    |(?<![\w.$\\])(?:
        {_C}{_R}:{_C}{_R}{REF_END}
        |{_C}:{_C}{REF_END}
        |{_R}:{_R}{REF_END}
        |{_C}{_R}{REF_END}
    )
    """,
    re.VERBOSE,
)
# Group numbers of the alternatives above: area 1-8, columns 9-12, rows 13-16, cell 17-20.


class _OffSheet(Exception):
    pass


def _col(dollar: str, letters: str, delta: int) -> str:
    if dollar or not delta:
        return dollar + letters
    col = column_index(letters) + delta
    if not 1 <= col <= MAX_COL:
        raise _OffSheet
    return column_letters(col)


def _row(dollar: str, digits: str, delta: int) -> str:
    if dollar or not delta:
        return dollar + digits
    row = int(digits) + delta
    if not 1 <= row <= MAX_ROW:
        raise _OffSheet
    return str(row)


def translate_formula(formula: str, row_offset: int, col_offset: int) -> str:
    """A formula as it reads when copied by (row_offset, col_offset).

    Relative references move, ``$``-absolute parts stay; a reference moved off
    the sheet becomes ``#REF!`` (as Excel does when you paste it). Formula text
    has no leading ``=``. Used to expand shared formulas: the master's text
    translated by (cell.row - master.row, cell.col - master.col).

    >>> translate_formula("SUM(A1:B$2)*$C3", 2, 1)
    'SUM(B3:C$2)*$C5'
    """
    if not row_offset and not col_offset:
        return formula

    def move(m: re.Match[str]) -> str:
        g = m.groups()
        try:
            if g[1] is not None:
                return (
                    _col(g[0], g[1], col_offset)
                    + _row(g[2], g[3], row_offset)
                    + ":"
                    + _col(g[4], g[5], col_offset)
                    + _row(g[6], g[7], row_offset)
                )
            if g[9] is not None:
                return _col(g[8], g[9], col_offset) + ":" + _col(g[10], g[11], col_offset)
            if g[13] is not None:
                return _row(g[12], g[13], row_offset) + ":" + _row(g[14], g[15], row_offset)
            if g[17] is not None:
                return _col(g[16], g[17], col_offset) + _row(g[18], g[19], row_offset)
        except _OffSheet:
            return "#REF!"
        return m.group()

    return _REWRITE_RE.sub(move, formula)


_CELL = rf"(?<![\w.$\\])(\$?)([A-Za-z]{{1,3}})(\$?)([0-9]{{1,7}}){REF_END}"
# Cells only (an area is two cells and a colon); the skip alternative keeps
# strings, quoted sheet names and brackets out of reach.
_KEY_PLAIN_RE: Final = re.compile(
    _CELL
    + rf"|(?<![\w.$\\])(\$?[A-Za-z]{{1,3}}:\$?[A-Za-z]{{1,3}}|\$?[0-9]{{1,7}}:\$?[0-9]{{1,7}}){REF_END}"
)
_KEY_QUOTED_RE: Final = re.compile(
    _CELL
    + rf"|(?<![\w.$\\])(\$?[A-Za-z]{{1,3}}:\$?[A-Za-z]{{1,3}}|\$?[0-9]{{1,7}}:\$?[0-9]{{1,7}}){REF_END}"
    + rf"|({STRING}|{QUOTED}|\[[^\]]*\])"
)


class _Columns(dict[str, int]):
    def __missing__(self, letters: str) -> int:
        value = column_index(letters)
        self[letters] = value
        return value


_COLUMNS: Final = _Columns()


def _line_key(part: str, row: int, col: int) -> str:
    """One end of a whole-column (``$B``) or whole-row (``7``) reference, made relative."""
    absolute = part.startswith("$")
    text = part.lstrip("$")
    if text.isdigit():
        return f"R{text}" if absolute else f"r{int(text) - row}"
    return f"C{_COLUMNS[text]}" if absolute else f"c{_COLUMNS[text] - col}"


def shape_key(formula: str, row: int, col: int) -> str:
    """The formula with each reference written relative to (row, col), R1C1 fashion.

    Two cells whose formulas are copies of one another (a shared formula, a
    formula filled right) get the same key, so the engine parses and compiles
    each distinct shape once. References are marked with a control character
    that cannot occur in formula text, so a key never collides with a name.
    """
    quoted = '"' in formula or "'" in formula or "[" in formula
    parts = (_KEY_QUOTED_RE if quoted else _KEY_PLAIN_RE).split(formula)
    step = 7 if quoted else 6
    out = [parts[0]]
    append = out.append
    cols = _COLUMNS
    for i in range(1, len(parts), step):
        letters = parts[i + 1]
        if letters is not None:
            digits = parts[i + 3]
            append(
                (f"\x00C{cols[letters]}" if parts[i] else f"\x00c{cols[letters] - col}")
                + ("R" + digits if parts[i + 2] else f"r{int(digits) - row}")
            )
        elif parts[i + 4] is not None:
            append("\x00" + ":".join(_line_key(p, row, col) for p in parts[i + 4].split(":")))
        else:
            append(parts[i + 5])
        append(parts[i + step - 1])
    return "".join(out)
