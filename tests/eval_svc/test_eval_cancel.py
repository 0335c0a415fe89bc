"""Cancelling a job while its evaluation computes: the calculation stops within a progress
report (not at its end), the job ends CANCELLED, and no value is stored. Cancelling it
while the model's cells load stops the load at the next batch, within about a second."""

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


LOAD_ROWS, LOAD_COLUMNS = 5_000, 50  # 250,000 cells: StreamCells sends them in 25 batches


def big_model() -> bytes:
    """Many constants and one formula: the load of its cells takes seconds, the rest little."""
    data = [Cell(r, c, float(r * c)) for r in range(1, LOAD_ROWS + 1)
            for c in range(1, LOAD_COLUMNS + 1)]
    return workbook_bytes(Workbook(sheets=[Sheet("Data", cells=data), Sheet(
        "Calc", cells=[Cell(1, 1, None, formula=f"SUM(Data!A1:A{LOAD_ROWS})")])]))


def loading(message: jobs_pb2.WatchJobResponse) -> bool:
    job = message.job
    return job.state in (jobs_pb2.JOB_STATE_FAILED, jobs_pb2.JOB_STATE_CANCELLED) or (
        job.stage == jobs_pb2.JOB_STAGE_BUILDING_GRAPH and job.message.startswith("loading cells:"))


def loaded_cells(message: str) -> tuple[int, int]:
    """(done, total) of a "loading cells: 10,000 of 250,001" message."""
    done, total = message.removeprefix("loading cells: ").split(" of ")
    return int(done.replace(",", "")), int(total.replace(",", ""))


async def test_cancel_while_loading_cells_stops_at_the_next_batch(
    client: EvalClient, db_pool: asyncpg.Pool
) -> None:
    answer = await client.upload(big_model(), file_name="big.xlsx")
    seen = await client.watch(answer.job.name, loading, timeout=120)
    last = seen[-1][1].job
    assert last.stage == jobs_pb2.JOB_STAGE_BUILDING_GRAPH, last
    done, total = loaded_cells(last.message)
    assert done < total // 4, last.message  # most of the load is still to come

    asked = time.monotonic()
    await client.jobs.CancelJob(jobs_pb2.CancelJobRequest(name=answer.job.name),
                                metadata=client.md)
    ended = await client.watch(answer.job.name, lambda m: m.job.state in (
        jobs_pb2.JOB_STATE_CANCELLED, jobs_pb2.JOB_STATE_SUCCEEDED, jobs_pb2.JOB_STATE_FAILED),
        after=seen[-1][1].event.sequence, timeout=60)
    final = ended[-1][1].job
    assert final.state == jobs_pb2.JOB_STATE_CANCELLED, final
    assert final.stage == jobs_pb2.JOB_STAGE_BUILDING_GRAPH and final.cancel_requested
    # Stopped at a batch soon after the cancel was seen, not at the end of the load.
    assert ended[-1][0] - asked < 1.2, [(round(t - asked, 3), m.job.message) for t, m in ended]
    reports = [loaded_cells(m.job.message)[0] for _, m in ended
               if m.job.message.startswith("loading cells:")]
    assert max(reports, default=done) < total, reports

    assert await stored_rows(db_pool, answer.model.name) == 0
