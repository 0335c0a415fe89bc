"""Which cells depend on a cell, worked out from the formulas as written, without calcwire.

openpyxl reads the file (formulas as text, shared formulas expanded) and its
tokenizer finds the references of each formula: A1 cells and ranges, with or
without a sheet, whole columns and rows, and defined names of workbook and
sheet scope. The dependents of a cell are the formula cells that refer to it
directly or through other formula cells (the transitive closure). Nothing of
calcwire's parser, graph or engine is used, so the test that compares this
with calcwire's mismatches checks calcwire against an independent answer.
"""

from __future__ import annotations

import io
import re
import warnings
from collections import defaultdict, deque
from collections.abc import Iterable

import openpyxl
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils.cell import column_index_from_string, range_boundaries

__all__ = ["CellKey", "dependents"]

CellKey = tuple[str, int, int]
"""(sheet, row, column), 1-based."""

_SHEET_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^'!]+))!(.+)$")
_CELL_OR_RANGE = re.compile(r"^\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?$", re.IGNORECASE)
_COLUMNS = re.compile(r"^\$?([A-Z]{1,3}):\$?([A-Z]{1,3})$", re.IGNORECASE)
_ROWS = re.compile(r"^\$?(\d+):\$?(\d+)$")


class _Book:
    def __init__(self, data: bytes) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.wb = openpyxl.load_workbook(io.BytesIO(data))
        self.global_names = {n.lower(): d.attr_text for n, d in self.wb.defined_names.items()}
        self.local_names = {
            ws.title: {n.lower(): d.attr_text for n, d in ws.defined_names.items()}
            for ws in self.wb.worksheets
        }
        self.bounds = {ws.title: (ws.max_row, ws.max_column) for ws in self.wb.worksheets}

    def formulas(self) -> Iterable[tuple[CellKey, str]]:
        for ws in self.wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    value = cell.value
                    text = getattr(value, "text", value)  # ArrayFormula keeps its text
                    if isinstance(text, str) and text.startswith("="):
                        yield (ws.title, cell.row, cell.column), text

    def cells_of(self, sheet: str, ref: str, seen: frozenset[str] = frozenset()) -> set[CellKey]:
        """The cells a reference token on ``sheet`` covers."""
        ref = ref.strip()
        match = _SHEET_REF.match(ref)
        if match:
            sheet = (match.group(1) or "").replace("''", "'") or match.group(2)
            ref = match.group(3)
        if _CELL_OR_RANGE.match(ref):
            c1, r1, c2, r2 = range_boundaries(ref.replace("$", ""))
            return self._box(sheet, r1, c1, r2, c2)
        if m := _COLUMNS.match(ref):
            last_row = self.bounds[sheet][0]
            return self._box(sheet, 1, column_index_from_string(m.group(1)), last_row,
                             column_index_from_string(m.group(2)))
        if m := _ROWS.match(ref):
            return self._box(sheet, int(m.group(1)), 1, int(m.group(2)), self.bounds[sheet][1])
        key = ref.lower()
        target = self.local_names.get(sheet, {}).get(key, self.global_names.get(key))
        if target is None or key in seen:
            raise ValueError(f"cannot resolve reference {ref!r} on sheet {sheet!r}")
        cells: set[CellKey] = set()
        for token in _references(target):
            cells |= self.cells_of(sheet, token, seen | {key})
        return cells

    @staticmethod
    def _box(sheet: str, r1: int, c1: int, r2: int, c2: int) -> set[CellKey]:
        return {(sheet, r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}


def _references(formula: str) -> list[str]:
    text = formula if formula.startswith("=") else f"={formula}"
    return [t.value for t in Tokenizer(text).items
            if t.type == Token.OPERAND and t.subtype == Token.RANGE]


def dependents(data: bytes, changed: CellKey) -> set[CellKey]:
    """Every formula cell of the workbook ``data`` whose value depends on ``changed``."""
    book = _Book(data)
    readers: dict[CellKey, set[CellKey]] = defaultdict(set)
    for cell, formula in book.formulas():
        for token in _references(formula):
            for precedent in book.cells_of(cell[0], token):
                readers[precedent].add(cell)
    found: set[CellKey] = set()
    queue = deque([changed])
    while queue:
        for reader in readers.get(queue.popleft(), ()):
            if reader not in found:
                found.add(reader)
                queue.append(reader)
    return found
