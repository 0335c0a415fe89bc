"""What eval_svc knows of an evaluation, in plain Python: no protobuf, SQL or NATS here.

A formula cell's computed value is the engine's own
:class:`~eval_svc.engine.CellResult` (sheet, row, col, value, status, reason,
volatile), both when it is written and when it is read back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from eval_svc.engine import CellResult

__all__ = ["EvaluationSummary", "Timings"]


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
