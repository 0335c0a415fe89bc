"""What calcwire knows of a workbook: the reader's output and the engine's input.

The reader (``calcwire.workbook.reader``) builds a :class:`Workbook` from the
file; the import service stores it in PostgreSQL and the evaluation service
rebuilds it from there, so the engine never reopens the file. Everything the
engine needs must therefore be in these classes, and nothing here may refer to
openpyxl, SQL or protobuf.

Coordinates are 1-based (row 1, column 1 is A1), as in Excel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from calcwire.values import CellValue

__all__ = [
    "CalcSettings",
    "Cell",
    "DataTable",
    "DefinedName",
    "ExternalLink",
    "Sheet",
    "SheetState",
    "Workbook",
]

SheetState = Literal["visible", "hidden", "veryHidden"]


@dataclass(frozen=True, slots=True)
class DataTable:
    """A What-If Data Table (``{=TABLE(r1, r2)}``), as stored on its anchor cell.

    Mirrors the attributes of the OOXML ``<f t="dataTable">`` element:
    ``ref`` is the range of result cells the table fills; ``two_dimensional``
    (``dt2D``) says both a row and a column input cell are used; for a
    one-dimensional table ``row_input`` (``dtr``) says its single input cell is
    a row input. ``r1`` is the first input cell (the row input of a 2-D table),
    ``r2`` the second (its column input); both are A1 references on the
    table's own sheet, or None when absent or deleted.
    """

    ref: str
    two_dimensional: bool
    row_input: bool
    r1: str | None
    r2: str | None


@dataclass(slots=True)
class Cell:
    """One non-empty cell: a constant, or a formula with the value Excel cached.

    ``value`` is the constant, or for a formula the cached result (None when
    the file carries none, i.e. it was never calculated). ``formula`` is the
    formula text without the leading ``=``, as Excel writes it in the file
    (``_xlfn.`` prefixes kept), with shared formulas already expanded for this
    cell. ``array_ref`` is set on the anchor of an array formula (legacy CSE or
    dynamic) to the range it fills; ``dynamic`` marks a dynamic-array formula
    (one that spills). ``data_table`` is set on the anchor of a Data Table.
    """

    row: int
    col: int
    value: CellValue = None
    formula: str | None = None
    array_ref: str | None = None
    dynamic: bool = False
    data_table: DataTable | None = None
    number_format: str = "General"


@dataclass(slots=True)
class Sheet:
    """A worksheet with its cells in file order (row-major)."""

    name: str
    state: SheetState = "visible"
    dimension: str | None = None
    cells: list[Cell] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DefinedName:
    """A defined name; ``scope`` is the sheet name for a sheet-local name."""

    name: str
    refers_to: str
    scope: str | None = None
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class CalcSettings:
    """The calculation properties saved in the file (``<calcPr>``), with Excel's defaults."""

    mode: Literal["auto", "manual", "autoNoTable"] = "auto"
    iterate: bool = False
    iterate_count: int = 100
    iterate_delta: float = 0.001
    full_calc_on_load: bool = False


@dataclass(slots=True)
class ExternalLink:
    """Another workbook referenced as ``[index]Sheet!A1``, with the values cached in this file.

    ``cells`` maps a sheet name of the linked book to its cached cells by A1
    address (``{"Sheet1": {"B3": 42.0}}``); ``names`` holds the linked book's
    defined names as the file recorded them.
    """

    index: int
    target: str
    sheet_names: list[str] = field(default_factory=list)
    cells: dict[str, dict[str, CellValue]] = field(default_factory=dict)
    names: list[DefinedName] = field(default_factory=list)


@dataclass(slots=True)
class Workbook:
    """A whole workbook as calcwire stores and computes it."""

    sheets: list[Sheet] = field(default_factory=list)
    names: list[DefinedName] = field(default_factory=list)
    calc: CalcSettings = field(default_factory=CalcSettings)
    external_links: list[ExternalLink] = field(default_factory=list)
    date1904: bool = False
    #: The program that last saved the file (``<Application>`` of docProps/app.xml),
    #: e.g. "Microsoft Excel" or "Microsoft Macintosh Excel": CHAR and CODE use the
    #: Mac character set in files saved by Mac Excel.
    application: str = ""
