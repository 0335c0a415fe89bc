"""The calculate suite of ``make bench``: the evaluate stage and Calculate, through the services.

A stack of its own (PostgreSQL, NATS, ``import_svc`` and ``eval_svc``, each
with its worker) is started once, under ``bench-out/calc-stack``. For each
model: upload it, wait until the evaluate stage has stored its values (the
stage's time comes from the job's own events: first BUILDING_GRAPH to
"computed values stored"), then time Calculate with one override
(``Inputs!B5``) and the model's last formula cell as output: once cold (load,
compile, calculate, what-if) and then warm (median of 20 calls, each with a
different value). The goal: a warm answer in 100 ms or less on 50,000
formulas. Times are the client's wall clock per call, through gRPC.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

import grpc.aio

from calcwire.common.v1 import cell_value_pb2
from calcwire.devstack import LocalStack
from calcwire.evaluation.v1 import evaluation_pb2, evaluation_pb2_grpc
from calcwire.formula import column_letters
from calcwire.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from calcwire.tenancy import INTERNAL_SECRET_METADATA_KEY, TENANT_METADATA_KEY
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc

MIB = 1024 * 1024
GOAL_MS = 100.0
WARM_CALLS = 20
ENV = {
    "CALCWIRE_ENV": "production",
    "CALCWIRE_LOG_LEVEL": "info",
    "CALCWIRE_HEALTH_INTERVAL_SECONDS": "0.5",
    "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "5",
    "CALCWIRE_MAX_UPLOAD_BYTES": str(1024 * MIB),
    "CALCWIRE_ACK_WAIT_SECONDS": "60",
}
_OPTIONS = [("grpc.max_receive_message_length", 64 * MIB),
            ("grpc.max_send_message_length", 64 * MIB)]


class CalculateBench:
    def __init__(self, run_dir: Path) -> None:
        self.stack = LocalStack(run_dir=run_dir, die_with_parent=True)
        self.loop = asyncio.new_event_loop()
        self.started = False

    def stop(self) -> None:
        if self.started:
            self.stack.stop()
            self.started = False
        self.loop.close()

    def measure(self, path: Path, timeout: float) -> dict[str, Any]:
        if not self.started:
            self.loop.run_until_complete(self._start())
            self.started = True
        return self.loop.run_until_complete(asyncio.wait_for(self._measure(path), timeout))

    async def _start(self) -> None:
        await self.stack.start_infrastructure()
        await self.stack.start_services(["import_svc", "eval_svc"], extra_env=ENV)

    async def _measure(self, path: Path) -> dict[str, Any]:
        data = path.read_bytes()
        md = ((INTERNAL_SECRET_METADATA_KEY, self.stack.ensure_internal_secret()),
              (TENANT_METADATA_KEY, "bench"))
        async with (
            grpc.aio.insecure_channel(self.stack.endpoints["import_svc"], options=_OPTIONS) as imp,
            grpc.aio.insecure_channel(self.stack.endpoints["eval_svc"], options=_OPTIONS) as ev,
        ):
            workbooks = workbooks_pb2_grpc.WorkbookServiceStub(imp)
            jobs = jobs_pb2_grpc.JobServiceStub(imp)
            evaluation = evaluation_pb2_grpc.EvaluationServiceStub(ev)

            async def requests() -> Any:
                yield workbooks_pb2.UploadWorkbookRequest(
                    metadata=workbooks_pb2.UploadMetadata(file_name=path.name,
                                                          request_id=str(uuid.uuid4())))
                for start in range(0, len(data), MIB):
                    yield workbooks_pb2.UploadWorkbookRequest(chunk=data[start:start + MIB])

            answer = await workbooks.UploadWorkbook(requests(), timeout=600, metadata=md)
            began = stored = None
            async for message in jobs.WatchJob(jobs_pb2.WatchJobRequest(name=answer.job.name),
                                               metadata=md):
                job, event = message.job, message.event
                if job.state in (jobs_pb2.JOB_STATE_FAILED, jobs_pb2.JOB_STATE_CANCELLED):
                    raise RuntimeError(f"job failed: {job.error.reason} {job.error.message}")
                if event.stage == jobs_pb2.JOB_STAGE_BUILDING_GRAPH and began is None:
                    began = event.time.ToDatetime()
                if "computed values stored" in event.message:
                    stored = event.time.ToDatetime()
                    break
            assert began is not None and stored is not None
            last = None
            async for batch in evaluation.StreamComputedValues(
                evaluation_pb2.StreamComputedValuesRequest(model=answer.model.name,
                                                           batch_size=10_000), metadata=md):
                if batch.values:
                    last = batch.values[-1]
            assert last is not None
            output = f"'{last.sheet}'!{column_letters(last.column)}{last.row}"

            async def calculate(value: float) -> tuple[float, evaluation_pb2.CalculateResponse]:
                request = evaluation_pb2.CalculateRequest(
                    model=answer.model.name, outputs=[output],
                    overrides=[evaluation_pb2.InputOverride(
                        reference="Inputs!B5",
                        value=cell_value_pb2.CellValue(number_value=value))])
                started = time.perf_counter()
                reply = await evaluation.Calculate(request, metadata=md, timeout=600)
                return time.perf_counter() - started, reply

            cold_s, cold = await calculate(0.3)
            warm = [await calculate(0.3 + i / 1000) for i in range(1, WARM_CALLS + 1)]
            assert not cold.warm and all(reply.warm for _, reply in warm)
            await workbooks.DeleteModel(workbooks_pb2.DeleteModelRequest(name=answer.model.name),
                                        metadata=md)
        warm_s = statistics.median(s for s, _ in warm)
        return {
            "evaluate_s": (stored - began).total_seconds(),
            "cold_s": cold_s,
            "warm_s": warm_s,
            "warm_engine_s": statistics.median(
                r.compute_time.ToNanoseconds() / 1e9 for _, r in warm),
            "recomputed": warm[0][1].recomputed_cells,
            "output": output,
        }
