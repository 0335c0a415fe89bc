"""The syntax tree of a formula, with references relative to the formula's cell.

A reference part that is relative (no ``$``) holds an offset from the formula
cell; an absolute part holds the row or column number itself. ``sheet`` is
the sheet index in the book, or None for the formula's own sheet.

References written in the formula itself also carry a ``slot``: their rank
among the formula's references (an area takes two slots, one per corner).
The compiler reads slotted references from per-cell parameters, so formulas
that differ only in their coordinates share one compiled function (see
eval_svc.engine.templates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from calcwire.values import XlError

__all__ = [
    "Area",
    "ArrayLit",
    "Binary",
    "Bool",
    "Call",
    "CellRef",
    "Err",
    "Invoke",
    "Missing",
    "Node",
    "Num",
    "Param",
    "Str",
    "Unary",
    "Unsupported",
]


@dataclass(frozen=True, slots=True)
class Num:
    value: float


@dataclass(frozen=True, slots=True)
class Str:
    value: str


@dataclass(frozen=True, slots=True)
class Bool:
    value: bool


@dataclass(frozen=True, slots=True)
class Err:
    value: XlError


@dataclass(frozen=True, slots=True)
class Missing:
    """An argument left empty, as in ``IF(A1,,2)``."""


@dataclass(frozen=True, slots=True)
class ArrayLit:
    rows: tuple[tuple[float | str | bool | XlError, ...], ...]


@dataclass(frozen=True, slots=True)
class CellRef:
    sheet: int | None
    row: int
    col: int
    row_abs: bool
    col_abs: bool
    slot: int = -1  # position among the formula's own references (-1: from a defined name)


@dataclass(frozen=True, slots=True)
class Area:
    """A rectangle; whole columns have absolute rows 1..MAX_ROW, whole rows columns 1..MAX_COL."""

    sheet: int | None
    r1: int
    c1: int
    r2: int
    c2: int
    r1_abs: bool
    c1_abs: bool
    r2_abs: bool
    c2_abs: bool
    slot: int = -1  # first of the two reference slots its corners take (-1: from a name)


@dataclass(frozen=True, slots=True)
class Param:
    """A LAMBDA or LET parameter (``_xlpm.x``)."""

    name: str


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-", "+", "%"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # arithmetic, comparison, "&", ":" (range), " " (intersection), "," (union)
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a built-in function; ``name`` upper case without _xlfn./_xlws. prefixes."""

    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Invoke:
    """A call of a LAMBDA value: ``LAMBDA(x, x+1)(2)`` or a name bound to a LAMBDA."""

    callee: Node
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Unsupported:
    """Something the engine cannot compute; the formula becomes not computable."""

    reason: str


Node: TypeAlias = (
    Num
    | Str
    | Bool
    | Err
    | Missing
    | ArrayLit
    | CellRef
    | Area
    | Param
    | Unary
    | Binary
    | Call
    | Invoke
    | Unsupported
)
