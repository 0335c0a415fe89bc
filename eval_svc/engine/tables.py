"""Structured references: ``Sales[Amount]``, ``Sales[[#This Row],[Qty]]``, ``[@Qty]``...

A reference names a table (or, written inside one, means the table it is in),
a set of rows (special items ``#All``, ``#Data``, ``#Headers``, ``#Totals``,
``#This Row``; ``#Data`` when none is given) and a set of columns (one
column, a range ``[First]:[Last]``, or all of them). Tables do not move while
the engine computes, so every reference resolves while parsing to a fixed
area, except ``#This Row``, which is the formula cell's own row of the table
and is computed at run time (:class:`~eval_svc.engine.ast.TableRow`).

The grammar (ECMA-376 Part 1, 18.17.6.7 and MS-OI29500 3.2.3.1.1)::

    Table[]  Table[Col]  Table[#Item]  Table[[#Item],[#Item],[Col]:[Col]]
    Table[@Col]  Table[@[Col name]]  Table[@]  [@Col]  [Col]

Inside a column name, ``'`` escapes the next character (``'[``, ``']``,
``'#``, ``''``); names compare case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from calcwire.formula import parse_range
from calcwire.values import XlError
from calcwire.workbook.model import Table
from eval_svc.engine.ast import Area, CellRef, Err, Node, TableRow

__all__ = [
    "StructuredReference",
    "StructuredReferenceError",
    "TableArea",
    "parse_structured_reference",
]

_ITEMS: Final = {
    "#ALL": "all",
    "#DATA": "data",
    "#HEADERS": "headers",
    "#TOTALS": "totals",
    "#THIS ROW": "this_row",
}
_REF: Final = Err(XlError.REF)


class StructuredReferenceError(ValueError):
    """Text that is not a structured reference."""


@dataclass(frozen=True, slots=True)
class StructuredReference:
    """A parsed reference: ``table`` is None for an unqualified one (``[@Qty]``)."""

    table: str | None
    items: frozenset[str]
    first_column: str | None  # None: every column
    last_column: str | None


@dataclass(frozen=True, slots=True)
class TableArea:
    """A table placed on the book: its sheet index and rows and columns."""

    name: str
    sheet: int
    r1: int
    c1: int
    r2: int
    c2: int
    header_rows: int
    totals_rows: int
    columns: tuple[str, ...]  # upper case

    @classmethod
    def of(cls, table: Table, sheet: int) -> TableArea:
        r1, c1, r2, c2 = parse_range(table.ref)
        return cls(
            table.display_name,
            sheet,
            r1,
            c1,
            r2,
            c2,
            table.header_row_count,
            table.totals_row_count,
            tuple(c.upper() for c in table.columns),
        )

    def contains(self, sheet: int, row: int, col: int) -> bool:
        return sheet == self.sheet and self.r1 <= row <= self.r2 and self.c1 <= col <= self.c2

    def column(self, name: str) -> int:
        """The index of a column by name (case-insensitive), -1 if none."""
        upper = name.upper()
        for candidate in (upper, upper.strip()):
            if candidate in self.columns:
                return self.columns.index(candidate)
        return -1

    @property
    def data_rows(self) -> tuple[int, int]:
        return self.r1 + self.header_rows, self.r2 - self.totals_rows

    def resolve(self, ref: StructuredReference) -> Node:
        """The area a reference to this table means (a TableRow for ``#This Row``)."""
        c1, c2 = self.c1, self.c2
        if ref.first_column is not None:
            first = self.column(ref.first_column)
            last = self.column(ref.last_column or ref.first_column)
            if first < 0 or last < 0:
                return _REF  # no such column
            c1, c2 = self.c1 + min(first, last), self.c1 + max(first, last)
        items = ref.items or frozenset({"data"})
        d1, d2 = self.data_rows
        if "this_row" in items:
            if len(items) > 1:
                return _REF
            return TableRow(self.sheet, d1, c1, d2, c2)
        if "all" in items:
            if len(items) > 1:
                return _REF
            r1, r2 = self.r1, self.r2
        elif items == {"headers"}:
            if not self.header_rows:
                return _REF
            r1 = r2 = self.r1
        elif items == {"totals"}:
            if not self.totals_rows:
                return _REF
            r1 = r2 = self.r2
        elif items == {"data"}:
            r1, r2 = d1, d2
        elif items == {"headers", "data"}:
            r1, r2 = self.r1, d2
        elif items == {"data", "totals"}:
            r1, r2 = d1, self.r2
        else:
            return _REF  # #Headers with #Totals: not a rectangle
        if r1 > r2:
            return _REF  # e.g. the data of a table with no data rows
        if r1 == r2 and c1 == c2:
            return CellRef(self.sheet, r1, c1, True, True)
        return Area(self.sheet, r1, c1, r2, c2, True, True, True, True)


def parse_structured_reference(text: str) -> StructuredReference:
    """``Sales[[#Headers],[#Data],[Qty]:[Price]]`` -> its table, items and columns."""
    open_at = text.find("[")
    if open_at < 0 or not text.endswith("]"):
        raise StructuredReferenceError(f"not a structured reference: {text!r}")
    table = text[:open_at].strip() or None
    inner = text[open_at + 1 : -1].strip()
    items: set[str] = set()
    columns: list[str] = []
    ranged = False
    if inner.startswith("@"):
        items.add("this_row")
        inner = inner[1:].strip()
    if inner and not inner.startswith("["):
        # a simple specifier: one item or one column name, unbracketed
        item = _ITEMS.get(" ".join(inner.upper().split()))
        if item is not None:
            items.add(item)
        else:
            columns.append(_unescape(inner))
    else:
        pos = 0
        expect_part = True
        while pos < len(inner):
            ch = inner[pos]
            if ch.isspace():
                pos += 1
                continue
            if expect_part:
                if ch != "[":
                    raise StructuredReferenceError(f"expected [ in {text!r}")
                end = _closing(inner, pos + 1)
                part = inner[pos + 1 : end]
                item = _ITEMS.get(" ".join(part.upper().split()))
                if item is not None and not ranged:
                    items.add(item)
                else:
                    columns.append(_unescape(part))
                pos = end + 1
                expect_part = False
            elif ch == ",":
                expect_part, ranged = True, False
                pos += 1
            elif ch == ":" and columns:
                expect_part, ranged = True, True
                pos += 1
            else:
                raise StructuredReferenceError(f"unexpected {ch!r} in {text!r}")
        if inner and expect_part:
            raise StructuredReferenceError(f"a separator ends {text!r}")
    if len(columns) > 2:
        raise StructuredReferenceError(f"more than one column range in {text!r}")
    first = columns[0] if columns else None
    last = columns[-1] if columns else None
    return StructuredReference(table, frozenset(items), first, last)


def _closing(text: str, pos: int) -> int:
    """The index of the ``]`` closing a column specifier that starts at ``pos``."""
    while pos < len(text):
        ch = text[pos]
        if ch == "'":
            pos += 2
            continue
        if ch == "]":
            return pos
        pos += 1
    raise StructuredReferenceError(f"unclosed [ in {text!r}")


def _unescape(name: str) -> str:
    if "'" not in name:
        return name
    out = []
    i = 0
    while i < len(name):
        if name[i] == "'" and i + 1 < len(name):
            i += 1
        out.append(name[i])
        i += 1
    return "".join(out)
