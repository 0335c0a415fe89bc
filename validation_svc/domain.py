"""What validation_svc knows, in plain Python: no protobuf, SQL or NATS here.

A validation run turns each formula cell of a model (its formula and the value
Excel cached, from import_svc) and what the engine made of it (from eval_svc)
into a :class:`CellResult`, and the whole model into a :class:`ValidationSummary`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from calcwire.values import CellValue
from validation_svc.compare import Status, StatusCounts, Tolerance

__all__ = [
    "CellResult",
    "ComputedCell",
    "FormulaCell",
    "ModelGone",
    "ModelInfo",
    "NotEvaluated",
    "SheetCounts",
    "SheetRef",
    "ValidationSummary",
]


class ModelGone(Exception):
    """The model does not exist (any more) for the tenant: deleted, or never there."""


class NotEvaluated(Exception):
    """The model has no computed values yet (its evaluation has not finished)."""


@dataclass(frozen=True, slots=True)
class SheetRef:
    """A sheet of the model: its position in the workbook and its name."""

    index: int
    name: str


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What validation needs of a model, as import_svc describes it."""

    model_id: str
    sheets: tuple[SheetRef, ...]
    calc_mode: str
    """"auto", "autoNoTable" or "manual" (:class:`calcwire.workbook.model.CalcSettings`)."""
    tolerance: Tolerance
    application: str = ""
    formula_count: int = 0

    def sheet(self, name: str) -> SheetRef | None:
        """The sheet called ``name``, ignoring case as Excel does."""
        wanted = name.casefold()
        for sheet in self.sheets:
            if sheet.name.casefold() == wanted:
                return sheet
        return None


class FormulaCell(NamedTuple):
    """A formula cell as the file has it; ``formula`` without its leading ``=``.

    The three per-cell records are named tuples, not frozen dataclasses: a run makes
    one of each per formula cell, and a frozen dataclass costs a ``setattr`` per field.
    """

    sheet_index: int
    sheet: str
    row: int
    col: int
    formula: str
    cached: CellValue


class ComputedCell(NamedTuple):
    """The engine's outcome for a cell: ``status`` is compare's engine status
    (``computed``, ``not_computable``, ``circular``)."""

    sheet_index: int
    row: int
    col: int
    value: CellValue
    status: str = "computed"
    reason: str | None = None
    volatile: bool = False


class CellResult(NamedTuple):
    """The verdict on one formula cell; ``abs_diff`` only when both values are numbers."""

    sheet_index: int
    sheet: str
    row: int
    col: int
    formula: str
    cached: CellValue
    computed: CellValue
    status: Status
    reason: str | None = None
    abs_diff: float | None = None

    @property
    def mismatch_rank(self) -> float | None:
        """ListMismatches' order, ascending: the largest numeric difference first, then the
        mismatches that are not two numbers (text, logicals, errors, types); None unless
        the cell mismatches."""
        if self.status is not Status.MISMATCH:
            return None
        return -self.abs_diff if self.abs_diff is not None else math.inf

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.sheet_index, self.row, self.col)


@dataclass(slots=True)
class SheetCounts:
    """The counts of one sheet."""

    index: int
    name: str
    counts: StatusCounts = field(default_factory=StatusCounts)


@dataclass(frozen=True, slots=True)
class ValidationSummary:
    """The outcome of a model's latest validation."""

    model_id: str
    job_id: str
    tolerance: Tolerance
    totals: StatusCounts
    sheets: list[SheetCounts]
    largest_mismatches: list[CellResult]
    calc_mode: str
    findings: list[str]
    create_time: datetime

    def counts_of(self, sheet_index: int | None) -> StatusCounts:
        """The counts of one sheet (zero for a sheet without formulas), or the totals."""
        if sheet_index is None:
            return self.totals
        for sheet in self.sheets:
            if sheet.index == sheet_index:
                return sheet.counts
        return StatusCounts()
