"""The pipeline suite of ``make bench``: first upload byte -> validation done, for real.

A stack of its own (PostgreSQL, NATS, the three backends with
CALCWIRE_ROLE=server) is started once, under ``bench-out/pipeline-stack``; each
measurement starts a fresh worker process per stage (CALCWIRE_ROLE=worker), so
each worker's peak resident memory (VmHWM) is that of one job. The time is from
the moment the UploadWorkbook call starts sending to the arrival of the job's
SUCCEEDED event (WatchJob); the stages' times are read from the job's events
(first event of the stage to the hand-over to the next one).
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import grpc.aio

from calcwire.devstack import LocalStack, free_port, wait_for_health
from calcwire.devstack.processes import ManagedProcess, spawn
from calcwire.jobs.v1 import jobs_pb2, jobs_pb2_grpc
from calcwire.tenancy import INTERNAL_SECRET_METADATA_KEY, TENANT_METADATA_KEY
from calcwire.validation.v1 import validation_pb2, validation_pb2_grpc
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc

MIB = 1024 * 1024
BACKENDS = ("import_svc", "eval_svc", "validation_svc")
ENV = {
    "CALCWIRE_ENV": "production",
    "CALCWIRE_LOG_LEVEL": "info",
    "CALCWIRE_HEALTH_INTERVAL_SECONDS": "0.5",
    "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "5",
    "CALCWIRE_MAX_UPLOAD_BYTES": str(1024 * MIB),
}
# Where each worker's part of the job begins; the last part ends at DONE.
PARTS = (
    ("import", jobs_pb2.JOB_STAGE_PARSING),
    ("evaluation", jobs_pb2.JOB_STAGE_BUILDING_GRAPH),
    ("validation", jobs_pb2.JOB_STAGE_VALIDATING),
    ("", jobs_pb2.JOB_STAGE_DONE),
)


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stage_seconds(events: list[jobs_pb2.JobEvent]) -> dict[str, float]:
    """Seconds of each stage and of each worker's part, from the first event of one to the
    first of the next (the events' own times, as the workers stamped them)."""
    firsts: dict[int, float] = {}
    for event in events:
        firsts.setdefault(event.stage, event.time.ToDatetime().timestamp())
    order = sorted(firsts.items(), key=lambda kv: kv[1])
    out = {
        jobs_pb2.JobStage.Name(stage).removeprefix("JOB_STAGE_").lower(): end - start
        for (stage, start), (_, end) in itertools.pairwise(order)
    }
    for (part, stage), (_, following) in itertools.pairwise(PARTS):
        if stage in firsts and following in firsts:
            out[part] = firsts[following] - firsts[stage]
    return out


class PipelineBench:
    def __init__(self, run_dir: Path) -> None:
        self.stack = LocalStack(run_dir=run_dir, die_with_parent=True)
        self.loop = asyncio.new_event_loop()
        self.started = False

    def start(self) -> None:
        if not self.started:
            self.loop.run_until_complete(self._start())
            self.started = True

    async def _start(self) -> None:
        await self.stack.start_infrastructure()
        await self.stack.start_services(BACKENDS, extra_env={**ENV, "CALCWIRE_ROLE": "server"})

    def stop(self) -> None:
        if self.started:
            self.stack.stop()
            self.started = False
        self.loop.close()

    def measure(self, path: Path, timeout: float) -> dict[str, Any]:
        self.start()
        return self.loop.run_until_complete(asyncio.wait_for(self._measure(path), timeout))

    async def _worker(self, service: str) -> tuple[str, ManagedProcess]:
        name = f"{service}-worker-{uuid.uuid4().hex[:6]}"
        listen = f"127.0.0.1:{free_port()}"
        process = spawn(
            name,
            [sys.executable, "-m", service],
            log=self.stack.logs / f"{name}.log",
            env={**self.stack.service_env({**ENV, "CALCWIRE_ROLE": "worker"}),
                 "CALCWIRE_LISTEN": listen},
            die_with_parent=True,
        )
        self.stack.services[name] = process
        await wait_for_health(listen, timeout=60, process=process)
        return name, process

    async def _measure(self, path: Path) -> dict[str, Any]:
        workers = dict(zip(BACKENDS, await asyncio.gather(*(self._worker(s) for s in BACKENDS)),
                           strict=True))
        data = path.read_bytes()
        md = ((INTERNAL_SECRET_METADATA_KEY, self.stack.ensure_internal_secret()),
              (TENANT_METADATA_KEY, "bench"))
        try:
            async with grpc.aio.insecure_channel(self.stack.endpoints["import_svc"]) as imp, \
                    grpc.aio.insecure_channel(self.stack.endpoints["validation_svc"]) as val:
                workbooks = workbooks_pb2_grpc.WorkbookServiceStub(imp)
                jobs = jobs_pb2_grpc.JobServiceStub(imp)

                async def requests() -> Any:
                    yield workbooks_pb2.UploadWorkbookRequest(
                        metadata=workbooks_pb2.UploadMetadata(file_name=path.name,
                                                              request_id=str(uuid.uuid4())))
                    for start in range(0, len(data), MIB):
                        yield workbooks_pb2.UploadWorkbookRequest(chunk=data[start:start + MIB])

                started = time.perf_counter()
                answer = await workbooks.UploadWorkbook(requests(), timeout=600, metadata=md)
                uploaded = time.perf_counter()
                events: list[jobs_pb2.JobEvent] = []
                final = None
                async for message in jobs.WatchJob(
                        jobs_pb2.WatchJobRequest(name=answer.job.name), metadata=md):
                    events.append(message.event)
                    if message.job.state in (jobs_pb2.JOB_STATE_SUCCEEDED,
                                             jobs_pb2.JOB_STATE_FAILED,
                                             jobs_pb2.JOB_STATE_CANCELLED):
                        final = message.job
                        break
                done = time.perf_counter()
                assert final is not None
                if final.state != jobs_pb2.JOB_STATE_SUCCEEDED:
                    raise RuntimeError(f"the job ended {jobs_pb2.JobState.Name(final.state)}: "
                                       f"{final.error.reason} {final.error.message}")
                summary = (await validation_pb2_grpc.ValidationServiceStub(val)
                           .GetValidationSummary(validation_pb2.GetValidationSummaryRequest(
                               model=answer.model.name), metadata=md)).summary
            rss = {service: _peak_rss_mb(process.pid)
                   for service, (_, process) in workers.items()}
        finally:
            for name, process in workers.values():
                await asyncio.to_thread(process.stop)
                self.stack.services.pop(name, None)
        return {
            "total_s": done - started,
            "upload_s": uploaded - started,
            "stages": stage_seconds(events),
            "formulas": summary.totals.formula_cells,
            "match": summary.totals.match,
            "rss_mb": rss,
        }
