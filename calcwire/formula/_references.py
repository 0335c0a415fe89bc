"""A1 reference text <-> (row, column) numbers, 1-based as in Excel."""

from __future__ import annotations

import re
from functools import cache
from typing import Final

__all__ = [
    "MAX_COL",
    "MAX_ROW",
    "column_index",
    "column_letters",
    "parse_a1",
    "parse_range",
]

MAX_ROW: Final = 1_048_576
MAX_COL: Final = 16_384

_CELL_RE: Final = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")
_COLS_RE: Final = re.compile(r"\$?([A-Za-z]{1,3}):\$?([A-Za-z]{1,3})")
_ROWS_RE: Final = re.compile(r"\$?([0-9]{1,7}):\$?([0-9]{1,7})")


@cache
def column_letters(col: int) -> str:
    """``1 -> "A"``, ``28 -> "AB"``, ``16384 -> "XFD"``."""
    if not 1 <= col <= MAX_COL:
        raise ValueError(f"column out of range: {col}")
    letters = ""
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@cache
def column_index(letters: str) -> int:
    """``"AB" -> 28``; case-insensitive, a leading ``$`` is allowed."""
    text = letters.lstrip("$").upper()
    if not text or len(text) > 3 or not text.isascii() or not text.isalpha():
        raise ValueError(f"not a column: {letters!r}")
    col = 0
    for ch in text:
        col = col * 26 + ord(ch) - 64
    if col > MAX_COL:
        raise ValueError(f"column out of range: {letters!r}")
    return col


def _strip_sheet(ref: str) -> str:
    bang = ref.rfind("!")
    return ref[bang + 1 :] if bang >= 0 else ref


def parse_a1(ref: str) -> tuple[int, int]:
    """``"$B$7" -> (7, 2)`` as (row, col); a sheet prefix (``Sheet1!B7``) is ignored."""
    m = _CELL_RE.fullmatch(_strip_sheet(ref).strip())
    if m is None:
        raise ValueError(f"not a cell reference: {ref!r}")
    row = int(m.group(2))
    if not 1 <= row <= MAX_ROW:
        raise ValueError(f"row out of range: {ref!r}")
    return row, column_index(m.group(1))


def parse_range(ref: str) -> tuple[int, int, int, int]:
    """``"A1:C3" -> (1, 1, 3, 3)`` as (r1, c1, r2, c2), corners ordered.

    A single cell is a one-cell range; whole columns (``B:D``) span every row
    and whole rows (``2:5``) every column. A sheet prefix is ignored.
    """
    text = _strip_sheet(ref).strip()
    m = _COLS_RE.fullmatch(text)
    if m is not None:
        c1, c2 = column_index(m.group(1)), column_index(m.group(2))
        return 1, min(c1, c2), MAX_ROW, max(c1, c2)
    m = _ROWS_RE.fullmatch(text)
    if m is not None:
        r1, r2 = int(m.group(1)), int(m.group(2))
        if not (1 <= r1 <= MAX_ROW and 1 <= r2 <= MAX_ROW):
            raise ValueError(f"row out of range: {ref!r}")
        return min(r1, r2), 1, max(r1, r2), MAX_COL
    first, sep, second = text.partition(":")
    r1, c1 = parse_a1(first)
    r2, c2 = parse_a1(second) if sep else (r1, c1)
    return min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)
