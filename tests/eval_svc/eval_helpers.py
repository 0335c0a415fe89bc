"""What the evaluation service's tests do again and again: upload, wait for the evaluate
stage, read the computed values, compute the same workbook with the engine directly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from import_helpers import FINAL, Client

from calcwire.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from calcwire.jobs.v1 import jobs_pb2
from calcwire.wire import value_from_proto
from calcwire.workbook.model import Workbook
from calcwire.workbook.reader import read_workbook
from eval_svc.engine import compile_workbook

STATUS = {
    evaluation_pb2.COMPUTE_STATUS_COMPUTED: "computed",
    evaluation_pb2.COMPUTE_STATUS_NOT_COMPUTABLE: "not_computable",
    evaluation_pb2.COMPUTE_STATUS_CIRCULAR: "circular",
}

Row = tuple[str, int, int, Any, str, str, bool]
"""(sheet, row, col, value, status, reason, volatile) of one formula cell."""


def evaluate_over(message: jobs_pb2.WatchJobResponse) -> bool:
    """The evaluate stage is over: values stored and queued for validation, or the job ended."""
    job = message.job
    return job.state in FINAL or (
        job.stage == jobs_pb2.JOB_STAGE_WRITING_RESULTS and "queued for validation" in job.message
    )


@dataclass
class EvalClient(Client):
    """import_svc's client (upload, watch, cells) plus EvaluationService, for one tenant."""

    @property
    def evaluation(self) -> evaluation_pb2_grpc.EvaluationServiceStub:
        return evaluation_pb2_grpc.EvaluationServiceStub(self.channel)

    async def wait_evaluated(self, job: str, *, timeout: float = 120) -> list[jobs_pb2.JobEvent]:
        seen = await self.watch(job, evaluate_over, timeout=timeout)
        return [m.event for _, m in seen]

    async def computed(self, model: str, *, batch_size: int = 0) -> list[Row]:
        rows: list[Row] = []
        call = self.evaluation.StreamComputedValues(
            evaluation_pb2.StreamComputedValuesRequest(model=model, batch_size=batch_size),
            metadata=self.md, timeout=60,
        )
        async for batch in call:
            for v in batch.values:
                rows.append((v.sheet, v.row, v.column, value_from_proto(v.value),
                             STATUS[v.status], v.reason, v.volatile))
        return rows

    async def calculate(
        self, model: str, outputs: list[str], overrides: dict[str, Any] | None = None
    ) -> evaluation_pb2.CalculateResponse:
        from calcwire.wire import value_to_proto

        request = evaluation_pb2.CalculateRequest(model=model, outputs=outputs)
        for reference, value in (overrides or {}).items():
            request.overrides.add(reference=reference, value=value_to_proto(value))
        response: evaluation_pb2.CalculateResponse = await self.evaluation.Calculate(
            request, metadata=self.md, timeout=120
        )
        return response


def engine_rows(data: bytes | Workbook) -> list[Row]:
    """The same workbook (or read from its bytes) computed by the engine in-process."""
    workbook = read_workbook(data) if isinstance(data, bytes) else data
    results = compile_workbook(workbook).calculate()
    return [(r.sheet, r.row, r.col, r.value, r.status, r.reason or "", r.volatile)
            for r in results]


def comparable(rows: list[Row]) -> list[Row]:
    """Rows with the values of volatile cells (NOW, RAND...) left out: they differ per run."""
    return [(s, r, c, None if vol else v, st, why, vol) for s, r, c, v, st, why, vol in rows]
