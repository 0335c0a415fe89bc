"""Formula templates: the text of a formula with its references taken out.

Copies of a formula (filled right or down, shared formulas) and formulas that
differ only in an absolute row (``Inputs!$C$10`` on one line item,
``Inputs!$C$11`` on the next) have the same *skeleton*: the formula text with
each reference replaced by a marker. The engine compiles each skeleton once,
into a function of the cell's key and a tuple of reference keys, and gives
every cell its own tuple. :func:`split_references` is the one scan of the
formula text this needs, so it must find exactly the references the parser
numbers as slots (see eval_svc.engine.ast); the model checks the counts agree
and falls back to compiling the formula on its own when they do not.
"""

from __future__ import annotations

import re
from typing import Final

from calcwire.formula import MAX_ROW, column_index
from calcwire.formula._tokenizer import QUOTED, REF_END, STRING

__all__ = ["SplitError", "split_references"]

_CELL = rf"(?<![\w.$\\])(\$?[A-Za-z]{{1,3}}\$?[0-9]{{1,7}}){REF_END}"
_PLAIN_RE: Final = re.compile(_CELL)
_QUOTED_RE: Final = re.compile(rf"({STRING}|{QUOTED}|\[[^\]]*\])|{_CELL}")


class SplitError(ValueError):
    """A reference out of Excel's grid: the formula is compiled on its own."""


class _Corners(dict[str, int]):
    """Cell reference text -> row << 15 | col, memoised (the same cells recur)."""

    def __missing__(self, text: str) -> int:
        # The text matched _CELL: letters then digits, each perhaps after a "$".
        plain = text.replace("$", "") if "$" in text else text
        cut = len(plain.rstrip("0123456789"))
        try:
            col = column_index(plain[:cut])
        except ValueError:
            raise SplitError(text) from None
        row = int(plain[cut:])
        if not 1 <= row <= MAX_ROW:
            raise SplitError(text)
        value = (row << 15) | col
        self[text] = value
        return value


_CORNERS: Final = _Corners()


def split_references(formula: str) -> tuple[str, list[int]]:
    """(skeleton, cells): each cell reference as ``row << 15 | col``, in text order.

    The skeleton replaces each cell reference with ``\x00``; an area
    ``A1:B2`` is two cells around a colon. Whole-row and whole-column
    references stay in the skeleton as text (they are rare, and compiled
    relative to the formula's cell).
    """
    corners = _CORNERS
    if '"' not in formula and "'" not in formula and "[" not in formula:
        parts = _PLAIN_RE.split(formula)
        return "\x00".join(parts[0::2]), [corners[t] for t in parts[1::2]]
    parts = _QUOTED_RE.split(formula)
    pieces = [parts[0]]
    cells: list[int] = []
    for i in range(1, len(parts), 3):
        skip = parts[i]
        if skip is not None:
            pieces.append(skip)
        else:
            cells.append(corners[parts[i + 1]])
            pieces.append("\x00")
        pieces.append(parts[i + 2])
    return "".join(pieces), cells
