"""Must show (issue 5): a worker killed with SIGKILL in the middle of each stage, and cancelled
jobs, on a stack of this module's own.

- Killed mid-stage (import, evaluate, validate): the message is delivered again
  (ack wait of 3 s) to a fresh worker; the job still succeeds, each stage's
  results are stored once (as many rows as formula cells), and the summary is
  that of an undisturbed run of the same workbook.
- CancelJob while evaluation or validation works: the job ends CANCELLED and no
  partial result is visible (no summary, no mismatch list, no computed value).
  A model validated before, then re-evaluated and cancelled, keeps its complete
  earlier results.

The stack runs each service's server (CALCWIRE_ROLE=server) and, as separate
processes, one worker per service, so that a test can kill the worker of one
stage. The workbook is a generated model of 60,000 formulas whose tax rate was
changed without recalculating (so the summary has mismatches to compare).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
import grpc
import grpc.aio
import pytest
from pipeline_helpers import (
    EVALUATION_STAGES,
    Pipeline,
    comparable,
    generated,
    new_tenant,
    stage_name,
    stale,
)
from tests_support import TEST_SERVICE_ENV, bearer

from calcwire.db import create_pool
from calcwire.devstack import LocalStack, free_port, wait_for_health
from calcwire.devstack.processes import ManagedProcess, spawn
from calcwire.evaluation.v1 import evaluation_pb2
from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2
from calcwire.validation.v1 import validation_pb2
from calcwire.workbooks.v1 import workbooks_pb2
from gateway.keys import create_api_key
from gateway.store import KeyStore, migrate

pytestmark = pytest.mark.stack

ACK_WAIT = 3.0
FORMULAS = 60_000
ENV = {**TEST_SERVICE_ENV, "CALCWIRE_ACK_WAIT_SECONDS": str(ACK_WAIT)}
WORKERS = ("import_svc", "eval_svc", "validation_svc")


class FaultStack:
    """The module's stack: servers, the gateway, one worker per service, a key, a pool."""

    def __init__(self, stack: LocalStack, pool: asyncpg.Pool) -> None:
        self.stack = stack
        self.pool = pool
        self.workers: dict[str, ManagedProcess] = {}
        self.channel: grpc.aio.Channel | None = None
        self._count = 0

    async def start_worker(self, service: str) -> ManagedProcess:
        self._count += 1
        name = f"{service}-worker-{self._count}"
        listen = f"127.0.0.1:{free_port()}"
        process = spawn(
            name,
            [sys.executable, "-m", service],
            log=self.stack.logs / f"{name}.log",
            env={**self.stack.service_env({**ENV, "CALCWIRE_ROLE": "worker"}),
                 "CALCWIRE_LISTEN": listen},
            die_with_parent=True,
        )
        self.stack.services[name] = process  # stopped with the stack
        self.workers[service] = process
        await wait_for_health(listen, timeout=60, process=process)
        return process

    async def kill_worker(self, service: str) -> None:
        process = self.workers.pop(service)
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.stop)  # reap it

    async def pipeline(self) -> Pipeline:
        tenant = new_tenant()
        key = await create_api_key(KeyStore(self.pool), tenant, "faults")
        assert self.channel is not None
        return Pipeline(self.channel, tenant, bearer(key.token))

    async def rows(self, model: str) -> tuple[int, int, int]:
        """(computed values, validation results, summaries) stored for ``model``."""
        model_id = model.removeprefix("models/")
        row = await self.pool.fetchrow(
            """SELECT (SELECT count(*) FROM evaluation.computed_values WHERE model_id = $1),
                      (SELECT count(*) FROM validation.cell_results WHERE model_id = $1),
                      (SELECT count(*) FROM validation.summaries WHERE model_id = $1)""",
            uuid.UUID(model_id),
        )
        assert row is not None
        return row[0], row[1], row[2]


@pytest.fixture(scope="module")
async def faults(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FaultStack]:
    stack = LocalStack(run_dir=tmp_path_factory.mktemp("fault-stack"), die_with_parent=True)
    try:
        await stack.start_infrastructure()
        await stack.start_services([*WORKERS, "gateway"],
                                   extra_env={**ENV, "CALCWIRE_ROLE": "server"})
        pool = await create_pool(stack.database_url, min_size=1, max_size=4)
        await migrate(pool)
        found = FaultStack(stack, pool)
        await asyncio.gather(*(found.start_worker(s) for s in WORKERS))
        async with grpc.aio.insecure_channel(stack.endpoints["gateway"]) as channel:
            found.channel = channel
            yield found
        await pool.close()
    finally:
        stack.stop()


def workbook() -> bytes:
    return stale(FORMULAS)


@dataclass
class Baseline:
    model: str
    summary: validation_pb2.ValidationSummary
    mismatches: list[validation_pb2.CellResult]
    pipeline: Pipeline


@pytest.fixture(scope="module")
async def baseline(faults: FaultStack) -> Baseline:
    """An undisturbed run of the workbook."""
    pipeline = await faults.pipeline()
    answer = await pipeline.upload(workbook())
    job = await pipeline.finish(answer.job.name)
    assert job.state == jobs_pb2.JOB_STATE_SUCCEEDED, job
    model = answer.model.name
    return Baseline(model, await pipeline.summary(model), await pipeline.mismatches(model),
                    pipeline)


def in_stage(*stages: int, above: float = 0.0) -> Callable[[jobs_pb2.WatchJobResponse], bool]:
    """True of an event that shows one of ``stages`` at work (progress past its start)."""

    def test(message: jobs_pb2.WatchJobResponse) -> bool:
        event = message.event
        return (event.state == jobs_pb2.JOB_STATE_RUNNING and event.stage in stages
                and event.percent > above)

    return test


MID_STAGE = {
    # the import: a "parsing sheet" report (past PARSING's 10 %)
    "import_svc": in_stage(jobs_pb2.JOB_STAGE_PARSING, above=10.0),
    # the evaluation: loading cells or building the graph (past BUILDING_GRAPH's 50 %)
    "eval_svc": in_stage(*EVALUATION_STAGES, above=50.0),
    # the validation: comparing (past VALIDATING's 85 %)
    "validation_svc": in_stage(jobs_pb2.JOB_STAGE_VALIDATING, above=85.0),
}


class TestWorkerKilledMidStage:
    @pytest.mark.parametrize("service", WORKERS)
    async def test_the_job_succeeds_with_results_stored_once_and_the_same_summary(
        self, faults: FaultStack, baseline: Baseline, service: str
    ) -> None:
        formulas = generated(FORMULAS)[1]
        pipeline = await faults.pipeline()
        answer = await pipeline.upload(workbook())
        seen = await pipeline.watch(answer.job.name, MID_STAGE[service])
        caught = seen[-1][1]
        assert MID_STAGE[service](caught), (
            f"the job got past {service}'s stage before it could be killed: "
            f"{stage_name(caught.job.stage)} {caught.job.percent}")
        await faults.kill_worker(service)
        killed_at = time.monotonic()
        await faults.start_worker(service)

        watched = await pipeline.watch(answer.job.name, timeout=180)
        final = watched[-1][1].job
        assert final.state == jobs_pb2.JOB_STATE_SUCCEEDED, (final.error.reason,
                                                             final.error.message)
        assert any("(attempt 2)" in m.event.message for _, m in watched), [
            m.event.message for _, m in watched]
        assert time.monotonic() - killed_at < 90

        assert await faults.rows(answer.model.name) == (formulas, formulas, 1)
        summary = await pipeline.summary(answer.model.name)
        assert summary.job == answer.job.name
        assert comparable(summary) == comparable(baseline.summary)
        mismatches = await pipeline.mismatches(answer.model.name)
        assert [(r.sheet, r.row, r.column, r.absolute_difference) for r in mismatches] == [
            (r.sheet, r.row, r.column, r.absolute_difference) for r in baseline.mismatches]


async def _cancel_when(
    pipeline: Pipeline, job: str, when: Callable[[jobs_pb2.WatchJobResponse], bool]
) -> jobs_pb2.Job:
    seen = await pipeline.watch(job, when)
    caught = seen[-1][1]
    assert when(caught), (f"the job got past the stage before it could be cancelled: "
                          f"{stage_name(caught.job.stage)} {caught.job.percent}")
    await pipeline.jobs.CancelJob(jobs_pb2.CancelJobRequest(name=job), metadata=pipeline.md)
    return await pipeline.finish(job, timeout=120)


async def _no_results_visible(pipeline: Pipeline, model: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as summary_error:
        await pipeline.summary(model)
    assert summary_error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_reason(summary_error.value) == "NOT_VALIDATED"
    try:
        assert await pipeline.mismatches(model) == []
    except grpc.aio.AioRpcError as error:
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
    cells = await _formula_cells(pipeline, model)
    assert cells and not any(c.HasField("computed_value") for c in cells)
    assert not any(c.validation_status for c in cells)


async def _formula_cells(pipeline: Pipeline, model: str) -> list[workbooks_pb2.Cell]:
    """The first 500 formula cells of each sheet (the stale ones included): enough to see
    whether results show, without paging through the whole model."""
    found = (await pipeline.workbooks.GetModel(
        workbooks_pb2.GetModelRequest(name=model), metadata=pipeline.md)).model
    cells: list[workbooks_pb2.Cell] = []
    for sheet in found.sheets:
        page = await pipeline.workbooks.ListCells(
            workbooks_pb2.ListCellsRequest(parent=model, sheet=sheet.name, formulas_only=True,
                                           page_size=500), metadata=pipeline.md)
        cells.extend(page.cells)
    return cells


class TestCancel:
    async def test_during_evaluation(self, faults: FaultStack) -> None:
        pipeline = await faults.pipeline()
        answer = await pipeline.upload(workbook())
        job = await _cancel_when(pipeline, answer.job.name, MID_STAGE["eval_svc"])
        assert job.state == jobs_pb2.JOB_STATE_CANCELLED, job
        assert job.stage in EVALUATION_STAGES, stage_name(job.stage)
        assert await faults.rows(answer.model.name) == (0, 0, 0)
        await _no_results_visible(pipeline, answer.model.name)

    async def test_during_validation(self, faults: FaultStack) -> None:
        pipeline = await faults.pipeline()
        answer = await pipeline.upload(workbook())
        job = await _cancel_when(pipeline, answer.job.name, MID_STAGE["validation_svc"])
        assert job.state == jobs_pb2.JOB_STATE_CANCELLED, job
        assert job.stage == jobs_pb2.JOB_STAGE_VALIDATING, stage_name(job.stage)
        assert (await faults.rows(answer.model.name))[1:] == (0, 0)
        await _no_results_visible(pipeline, answer.model.name)

    async def test_a_cancelled_re_evaluation_keeps_the_earlier_results(
        self, faults: FaultStack, baseline: Baseline
    ) -> None:
        pipeline = baseline.pipeline
        formulas = generated(FORMULAS)[1]
        before = await _formula_cells(pipeline, baseline.model)
        reply = await pipeline.evaluation.EvaluateModel(
            evaluation_pb2.EvaluateModelRequest(name=baseline.model, request_id=str(uuid.uuid4())),
            metadata=pipeline.md)
        job = await _cancel_when(pipeline, reply.job.name, MID_STAGE["eval_svc"])
        assert job.state == jobs_pb2.JOB_STATE_CANCELLED, job

        assert await faults.rows(baseline.model) == (formulas, formulas, 1)
        assert await pipeline.summary(baseline.model) == baseline.summary
        assert await pipeline.mismatches(baseline.model) == baseline.mismatches
        after = await _formula_cells(pipeline, baseline.model)
        assert after == before
        model = (await pipeline.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name=baseline.model), metadata=pipeline.md)).model
        assert model.latest_job.name == reply.job.name
        assert model.latest_job.state == jobs_pb2.JOB_STATE_CANCELLED
