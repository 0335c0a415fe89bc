"""What import_svc knows of a model, in plain Python: no protobuf, SQL or NATS here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, TypeAlias

from calcwire.job_events import JobEvent
from calcwire.values import CellValue
from calcwire.workbook.model import CalcSettings, DefinedName, ExternalLink, SheetState, Table

__all__ = [
    "CellCounts",
    "CellFilter",
    "CellRow",
    "ModelDetails",
    "ModelRecord",
    "ModelState",
    "ParsedModel",
    "SheetRecord",
    "StoredCell",
]


class ModelState(StrEnum):
    """The proto's ModelState without its prefix."""

    IMPORTING = "IMPORTING"
    READY = "READY"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class CellCounts:
    """Non-empty cells by type: formulas, and constants by the type of their value."""

    total: int = 0
    formulas: int = 0
    numbers: int = 0
    strings: int = 0
    booleans: int = 0
    errors: int = 0


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A model as ListModels shows it (no sheets, names or links)."""

    model_id: str
    tenant: str
    display_name: str
    file_name: str
    sha256: str
    size_bytes: int
    state: ModelState
    validate: bool
    tolerance: tuple[float, float]
    import_job_id: str
    create_time: datetime
    update_time: datetime
    calc: CalcSettings = field(default_factory=CalcSettings)
    date1904: bool = False
    counts: CellCounts = field(default_factory=CellCounts)
    latest_job: JobEvent | None = None
    application: str = ""
    """The program that last saved the file ("Microsoft Excel"...); "" until imported."""


@dataclass(frozen=True, slots=True)
class SheetRecord:
    index: int
    name: str
    state: SheetState
    dimension: str
    cell_count: int
    formula_count: int


@dataclass(frozen=True, slots=True)
class ModelDetails:
    """A model as GetModel shows it."""

    model: ModelRecord
    sheets: list[SheetRecord]
    names: list[DefinedName]
    external_links: list[ExternalLink]
    tables: list[Table] = field(default_factory=list)


class StoredCell(NamedTuple):
    """One stored cell; ``formula`` has no leading ``=``; ``kind`` is the proto's FormulaKind.

    A named tuple rather than a frozen dataclass: StreamCells makes one per cell of a
    model, and a frozen dataclass pays a ``setattr`` per field."""

    sheet: str
    sheet_index: int
    row: int
    col: int
    value: CellValue
    formula: str | None
    kind: int
    array_range: str | None
    number_format: str


@dataclass(frozen=True, slots=True)
class CellFilter:
    """Which cells of a model a ListCells/StreamCells call wants.

    ``sheet_index`` None means every sheet; the bounds are inclusive and 1-based.
    """

    sheet_index: int | None = None
    first_row: int = 1
    last_row: int = 1_048_576
    first_col: int = 1
    last_col: int = 16_384
    formulas_only: bool = False


CellRow: TypeAlias = tuple[int, int, int, CellValue, "str | None", int, "str | None", str]
"""A parsed cell: (sheet index, row, col, value, formula without ``=``, formula kind,
array range, number format)."""


@dataclass(frozen=True, slots=True)
class ParsedModel:
    """What an import attempt read from the file, ready to be stored."""

    sheets: Sequence[SheetRecord]
    names: Sequence[DefinedName]
    external_links: Sequence[ExternalLink]
    calc: CalcSettings
    date1904: bool
    counts: CellCounts
    cells: Sequence[CellRow]
    tables: Sequence[Table] = ()
    application: str = ""
