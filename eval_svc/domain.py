"""What eval_svc knows of an evaluation, in plain Python: no protobuf, SQL or NATS here.

A formula cell's computed value is the engine's own
:class:`~eval_svc.engine.CellResult` (sheet, row, col, value, status, reason,
volatile) when it is written, and a :class:`StoredValue` with the same fields
when StreamComputedValues reads it back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from calcwire.values import CellValue
from eval_svc.engine import CellResult, CellStatus

__all__ = ["EvaluationSummary", "StoredValue", "Timings"]


class StoredValue(NamedTuple):
    """A stored computed value, read back: the fields of the engine's CellResult in a
    named tuple, since a stream of a model's values makes one per formula cell (a frozen
    dataclass pays a ``setattr`` per field)."""

    sheet: str
    row: int
    col: int
    value: CellValue
    status: CellStatus
    reason: str | None
    volatile: bool


@dataclass(frozen=True, slots=True)
class Timings:
    """Seconds each step of an evaluation took."""

    load: float = 0.0
    compile: float = 0.0
    compute: float = 0.0
    write: float = 0.0


@dataclass(frozen=True, slots=True)
class EvaluationSummary:
    """The evaluations row of a model: which job computed it, counts by status, timings."""

    job_id: str
    formula_cells: int
    computed: int
    not_computable: int
    circular: int
    volatile: int
    timings: Timings

    @classmethod
    def of(cls, job_id: str, results: Sequence[CellResult], timings: Timings) -> EvaluationSummary:
        statuses = Counter(r.status for r in results)
        return cls(
            job_id=job_id,
            formula_cells=len(results),
            computed=statuses["computed"],
            not_computable=statuses["not_computable"],
            circular=statuses["circular"],
            volatile=sum(1 for r in results if r.volatile),
            timings=timings,
        )
