"""Cell storage and name resolution for one workbook being computed.

Every value lives in one dict keyed by ``sheet << 36 | row << 15 | col``
(see runtime.cell_key). External workbooks referenced as ``[1]Sheet!A1``
become extra, read-only sheets after the real ones, filled with the values
the file cached for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from calcwire.formula import FormulaSyntaxError, parse_a1
from calcwire.values import CellValue, XlError
from calcwire.workbook.model import DefinedName, Workbook
from eval_svc.engine.ast import Err, Node, Unsupported
from eval_svc.engine.parser import normalise_function_name, parse_formula
from eval_svc.engine.runtime import ROW_SHIFT, SHEET_SHIFT, Ref

__all__ = ["Book"]


def _number(v: CellValue) -> CellValue:
    return float(v) if type(v) is int else v


class Book:
    """The values of a workbook, by cell key, and the names and sheets formulas resolve."""

    def __init__(self, workbook: Workbook, is_function: Any) -> None:
        self.workbook = workbook
        self._is_function = is_function
        self.sheet_names: list[str] = [s.name for s in workbook.sheets]
        self.n_real = len(self.sheet_names)
        self._sheet_lookup: dict[str, int] = {n.upper(): i for i, n in enumerate(self.sheet_names)}
        self.values: dict[int, CellValue] = {}
        self.max_row: list[int] = []
        self.max_col: list[int] = []
        self.get: Callable[[int], CellValue] = self.values.get
        self.dyn_get: Callable[[int], CellValue] = self.values.get
        #: Results that stay valid while no cell value changes (criteria masks of
        #: SUMIFS & co.); None disables memoising (cycles being iterated).
        self.memo: dict[Any, Any] | None = {}
        values = self.values
        for s, sheet in enumerate(workbook.sheets):
            base = s << SHEET_SHIFT
            max_row = max_col = 0
            for cell in sheet.cells:
                if cell.value is not None:
                    values[base | (cell.row << ROW_SHIFT) | cell.col] = _number(cell.value)
                max_row = max(max_row, cell.row)
                max_col = max(max_col, cell.col)
            self.max_row.append(max_row)
            self.max_col.append(max_col)
        # External books: one extra sheet per (link, sheet name).
        self._external: dict[tuple[int, str], int] = {}
        for link in workbook.external_links:
            for name in link.sheet_names or list(link.cells):
                self._add_external_sheet(link.index, name, link.cells.get(name, {}))
        # Defined names by (upper name, scope sheet index or None).
        self._names: dict[tuple[str, int | None], DefinedName] = {}
        for dn in workbook.names:
            scope = self._sheet_lookup.get(dn.scope.upper()) if dn.scope else None
            if dn.scope and scope is None:
                continue
            self._names[(dn.name.upper(), scope)] = dn
        self._name_nodes: dict[tuple[str, int | None], Node] = {}
        self._resolving: set[tuple[str, int | None]] = set()

    def _add_external_sheet(self, book: int, name: str, cells: dict[str, CellValue]) -> int:
        index = len(self.sheet_names)
        self.sheet_names.append(f"[{book}]{name}")
        self._external[(book, name.upper())] = index
        base = index << SHEET_SHIFT
        max_row = max_col = 0
        for address, value in cells.items():
            try:
                row, col = parse_a1(address)
            except ValueError:
                continue
            if value is not None:
                self.values[base | (row << ROW_SHIFT) | col] = _number(value)
            max_row, max_col = max(max_row, row), max(max_col, col)
        self.max_row.append(max_row)
        self.max_col.append(max_col)
        return index

    def new_epoch(self) -> None:
        """Cell values are about to change outside plan order: forget memoised results."""
        if self.memo is not None:
            self.memo = {}

    # -- extent ----------------------------------------------------------------

    def extend(self, sheet: int, row: int, col: int) -> None:
        """Widen a sheet's used range (array formulas and tables write beyond their anchor)."""
        self.max_row[sheet] = max(self.max_row[sheet], row)
        self.max_col[sheet] = max(self.max_col[sheet], col)

    def ref(self, sheet: int, r1: int, c1: int, r2: int, c2: int) -> Ref:
        if r1 > r2:
            r1, r2 = r2, r1
        if c1 > c2:
            c1, c2 = c2, c1
        return Ref(self, sheet, r1, c1, r2, c2)

    def cell_ref(self, key: int) -> Ref:
        s, r, c = key >> SHEET_SHIFT, (key >> ROW_SHIFT) & 0x1FFFFF, key & 0x7FFF
        return Ref(self, s, r, c, r, c)

    # -- the parser's Resolver ---------------------------------------------------

    def sheet_index(self, name: str) -> int | None:
        return self._sheet_lookup.get(name.upper())

    def external_sheet(self, book: int, sheet: str) -> int | None:
        index = self._external.get((book, sheet.upper()))
        if index is None:
            return None  # no such book, or a sheet the linked book does not have
        return index

    def is_function(self, name: str) -> bool:
        return bool(self._is_function(name))

    def defined_name(self, name: str, sheet: int | None) -> Node | None:
        upper = name.upper()
        key: tuple[str, int | None] = (upper, sheet)
        if key not in self._names:
            key = (upper, None)
            if key not in self._names:
                return None
        node = self._name_nodes.get(key)
        if node is not None:
            return node
        if key in self._resolving:
            return Err(XlError.NAME)
        self._resolving.add(key)
        try:
            node = self._parse_name(self._names[key].refers_to, key[1], self)
        finally:
            self._resolving.discard(key)
        self._name_nodes[key] = node
        return node

    def external_name(self, book: int, name: str) -> Node | None:
        link = next((lk for lk in self.workbook.external_links if lk.index == book), None)
        if link is None:
            return None
        for dn in link.names:
            if dn.name.upper() == name.upper():
                return self._parse_name(dn.refers_to, None, _ExternalResolver(self, book))
        return None

    def _parse_name(self, refers_to: str, scope: int | None, resolver: Any) -> Node:
        text = refers_to.strip()
        text = text.removeprefix("=")
        if not text:
            return Err(XlError.NAME)
        try:
            return parse_formula(text, 1, 1, scope, resolver)
        except (FormulaSyntaxError, ValueError) as exc:
            return Unsupported(f"cannot parse defined name {refers_to!r}: {exc}")

    # -- addresses -----------------------------------------------------------------

    def address(self, key: int) -> str:
        from calcwire.formula import column_letters

        s, r, c = key >> SHEET_SHIFT, (key >> ROW_SHIFT) & 0x1FFFFF, key & 0x7FFF
        name = self.sheet_names[s]
        if not name.replace("_", "").isalnum():
            name = "'" + name.replace("'", "''") + "'"
        return f"{name}!{column_letters(c)}{r}"


class _ExternalResolver:
    """Resolves a linked book's own names against its cached sheets."""

    def __init__(self, book: Book, index: int) -> None:
        self.book = book
        self.index = index

    def sheet_index(self, name: str) -> int | None:
        return self.book.external_sheet(self.index, name)

    def external_sheet(self, book: int, sheet: str) -> int | None:
        return self.book.external_sheet(book, sheet)

    def defined_name(self, name: str, sheet: int | None) -> Node | None:
        return None

    def external_name(self, book: int, name: str) -> Node | None:
        return None

    def is_function(self, name: str) -> bool:
        return self.book.is_function(normalise_function_name(name))
