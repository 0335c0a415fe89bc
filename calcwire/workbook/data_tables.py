"""A Data Table anchor as formula text, and back (PIPELINE.md).

Outside the file a Data Table travels as the formula Excel shows on its
cells, ``TABLE(row_input,column_input)`` with an omitted input left empty, plus
the range it fills (``Cell.array_ref`` on the wire, ``DataTable.ref`` here)::

    >>> table_formula(DataTable("C3:E5", True, False, "B1", "B2"))
    'TABLE(B1,B2)'
    >>> parse_table_formula("TABLE(,B2)", "C3:C9")
    DataTable(ref='C3:C9', two_dimensional=False, row_input=False, r1='B2', r2=None)

The text is what the reader writes into ``Cell.formula`` for a Data Table.
One thing does not survive the trip: the ``dtr`` flag of a two-input table,
which Excel ignores for such tables; it comes back False.
"""

from __future__ import annotations

import re
from typing import Final

from calcwire.workbook.model import DataTable

__all__ = ["is_table_formula", "parse_table_formula", "table_formula"]

_TABLE: Final = re.compile(r"^\s*=?\s*TABLE\(\s*([^,()]*?)\s*,\s*([^,()]*?)\s*\)\s*$", re.IGNORECASE)
_DELETED: Final = "#REF!"


def table_formula(table: DataTable) -> str:
    """The formula text of a Data Table, without ``=``; a deleted input reads ``#REF!``."""
    first = table.r1 or _DELETED
    if table.two_dimensional:
        return f"TABLE({first},{table.r2 or _DELETED})"
    return f"TABLE({first},)" if table.row_input else f"TABLE(,{first})"


def is_table_formula(formula: str) -> bool:
    return _TABLE.match(formula) is not None


def parse_table_formula(formula: str, ref: str) -> DataTable:
    """The Data Table whose anchor shows ``formula`` and that fills ``ref``.

    Raises ``ValueError`` when ``formula`` is not ``TABLE(a,b)`` with at least one input.
    """
    m = _TABLE.match(formula)
    if m is None:
        raise ValueError(f"not a Data Table formula: {formula!r}")
    row_ref, col_ref = m.group(1) or None, m.group(2) or None
    if row_ref is None and col_ref is None:
        raise ValueError(f"a Data Table needs at least one input: {formula!r}")

    def cell(text: str | None) -> str | None:
        return None if text is None or text.upper() == _DELETED else text

    if row_ref is not None and col_ref is not None:
        return DataTable(ref, True, False, cell(row_ref), cell(col_ref))
    if row_ref is not None:
        return DataTable(ref, False, True, cell(row_ref), None)
    return DataTable(ref, False, False, cell(col_ref), None)
