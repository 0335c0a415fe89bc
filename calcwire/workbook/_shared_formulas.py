"""Expanding shared formulas fast: the master's references found once, moved per copy.

:func:`calcwire.formula.translate_formula` runs its reference regex over the
whole text at every call (about 10 us); a worksheet of 500,000 shared-formula
copies then spends 5 s in it. :func:`translator` splits the master once with the
same regex and applies the same rules (relative parts move, ``$`` parts and
unmoved parts keep their text, a reference moved off the sheet becomes
``#REF!``), so each copy costs a couple of microseconds.

It borrows calcwire.formula's private reference regex; it belongs there as a
public ``formula_translator`` (asked of its owner). If that regex moves, it falls
back to ``translate_formula`` per copy, slower but never wrong; the reader's
tests compare every expansion with openpyxl's Translator and translate_formula.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from calcwire.formula import MAX_COL, MAX_ROW, column_index, column_letters, translate_formula

__all__ = ["Translator", "translator"]

Translator = Callable[[int, int], str]

_REWRITE_RE: re.Pattern[str] | None
try:
    from calcwire.formula._translate import _REWRITE_RE
except ImportError:  # pragma: no cover - only if calcwire.formula is reorganised
    _REWRITE_RE = None

# An atom of a reference: its text, and what moves it (0 nothing, 1 columns, 2 rows).
_FIXED: Final = 0
_COLUMN: Final = 1
_ROW: Final = 2
_Atom = tuple[str, int, int]


def _column(dollar: str, letters: str) -> _Atom:
    return (dollar + letters, _FIXED, 0) if dollar else (letters, _COLUMN, column_index(letters))


def _row(dollar: str, digits: str) -> _Atom:
    return (dollar + digits, _FIXED, 0) if dollar else (digits, _ROW, int(digits))


_COLON: Final = (":", _FIXED, 0)


def _atoms(g: tuple[str | None, ...]) -> list[_Atom]:
    s = [x or "" for x in g]
    if g[1] is not None:  # A1:B2
        return [_column(s[0], s[1]), _row(s[2], s[3]), _COLON, _column(s[4], s[5]),
                _row(s[6], s[7])]
    if g[9] is not None:  # A:B
        return [_column(s[8], s[9]), _COLON, _column(s[10], s[11])]
    if g[13] is not None:  # 1:2
        return [_row(s[12], s[13]), _COLON, _row(s[14], s[15])]
    return [_column(s[16], s[17]), _row(s[18], s[19])]  # A1


def translator(formula: str) -> Translator:
    """A function giving ``translate_formula(formula, row_offset, col_offset)``."""
    if _REWRITE_RE is None:  # pragma: no cover
        return lambda dr, dc: translate_formula(formula, dr, dc)
    literals: list[str] = []  # the text between references: one more than references
    references: list[list[_Atom]] = []
    pos = 0
    for m in _REWRITE_RE.finditer(formula):
        g = m.groups()
        if g[1] is None and g[9] is None and g[13] is None and g[17] is None:
            continue  # a string, a quoted sheet name or a [book] index: kept as it is
        literals.append(formula[pos:m.start()])
        references.append(_atoms(g))
        pos = m.end()
    if not references:
        return lambda dr, dc: formula
    literals.append(formula[pos:])

    def translate(dr: int, dc: int) -> str:
        if not dr and not dc:
            return formula
        out = [literals[0]]
        for atoms, literal in zip(references, literals[1:], strict=True):
            texts = []
            for text, kind, number in atoms:
                if kind == _COLUMN and dc:
                    moved = number + dc
                    if not 1 <= moved <= MAX_COL:
                        break
                    text = column_letters(moved)
                elif kind == _ROW and dr:
                    moved = number + dr
                    if not 1 <= moved <= MAX_ROW:
                        break
                    text = str(moved)
                texts.append(text)
            else:
                out.append("".join(texts))
                out.append(literal)
                continue
            out.append("#REF!")  # moved off the sheet
            out.append(literal)
        return "".join(out)

    return translate
