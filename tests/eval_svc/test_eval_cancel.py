"""Cancelling a job while its evaluation computes: the calculation stops within a progress
report (not at its end), the job ends CANCELLED, and no value is stored."""

from __future__ import annotations

import time

import asyncpg
import grpc
import pytest
from eval_helpers import EvalClient
from import_helpers import refused
from test_eval_pipeline import stored_rows

from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2
from calcwire.workbook.model import Cell, Sheet, Workbook
from calcwire.workbook.writer import workbook_bytes

pytestmark = pytest.mark.stack

ROWS, FORMULAS = 3000, 1000


def slow_model() -> bytes:
    """A small file that computes for ~20 s: each formula multiplies two 3,000-cell arrays."""
    data = [Cell(r, 1, float(r)) for r in range(1, ROWS + 1)]
    calc = [Cell(r, 1, None, formula=f"SUMPRODUCT(Data!$A$1:$A${ROWS}*Data!$A$1:$A${ROWS})+{r}")
            for r in range(1, FORMULAS + 1)]
    return workbook_bytes(Workbook(sheets=[Sheet("Data", cells=data), Sheet("Calc", cells=calc)]))


def computing(message: jobs_pb2.WatchJobResponse) -> bool:
    job = message.job
    return job.state in (jobs_pb2.JOB_STATE_FAILED, jobs_pb2.JOB_STATE_CANCELLED) or (
        job.stage == jobs_pb2.JOB_STAGE_COMPUTING and " of " in job.message)


async def test_cancel_during_computing_stops_promptly_and_stores_nothing(
    client: EvalClient, db_pool: asyncpg.Pool
) -> None:
    answer = await client.upload(slow_model(), file_name="slow.xlsx")
    seen = await client.watch(answer.job.name, computing, timeout=120)
    last = seen[-1][1].job
    assert last.stage == jobs_pb2.JOB_STAGE_COMPUTING, last
    assert last.message.startswith("computing ") and last.message.endswith(f" of {FORMULAS:,} cells")

    asked = time.monotonic()
    await client.jobs.CancelJob(jobs_pb2.CancelJobRequest(name=answer.job.name),
                                metadata=client.md)
    after = seen[-1][1].event.sequence
    ended = await client.watch(answer.job.name, lambda m: m.job.state in (
        jobs_pb2.JOB_STATE_CANCELLED, jobs_pb2.JOB_STATE_SUCCEEDED, jobs_pb2.JOB_STATE_FAILED),
        after=after, timeout=60)
    final = ended[-1][1].job
    assert final.state == jobs_pb2.JOB_STATE_CANCELLED, final
    assert final.stage == jobs_pb2.JOB_STAGE_COMPUTING and final.cancel_requested
    assert ended[-1][0] - asked < 5.0  # the whole calculation would take ~20 s

    assert await stored_rows(db_pool, answer.model.name) == 0
    error = await refused(client.computed(answer.model.name))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(error) == "NOT_EVALUATED"
