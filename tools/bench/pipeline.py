"""The import suite of ``make bench``: upload -> cells stored, through the real services.

A stack of its own (PostgreSQL, NATS, ``import_svc`` with CALCWIRE_ROLE=server)
is started once, under ``bench-out/stack``; each measurement starts a fresh
import worker process (CALCWIRE_ROLE=worker), so its peak resident memory
(VmHWM) is that of one import. The time reported is from the moment the
UploadWorkbook call returned (the file received, hashed, checked, stored and
the job queued) to the job event that says the cells are stored.
"""

from __future__ import annotations

import asyncio
import json
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
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc

MIB = 1024 * 1024
ENV = {
    "CALCWIRE_ENV": "production",  # JSON log lines, read back for the parse/write split
    "CALCWIRE_LOG_LEVEL": "info",
    "CALCWIRE_HEALTH_INTERVAL_SECONDS": "0.5",
    "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "5",
}


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


class ImportBench:
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
        await self.stack.start_services(["import_svc"],
                                        extra_env={**ENV, "CALCWIRE_ROLE": "server"})

    def stop(self) -> None:
        if self.started:
            self.stack.stop()
            self.started = False
        self.loop.close()

    def measure(self, path: Path, timeout: float) -> dict[str, Any]:
        self.start()
        return self.loop.run_until_complete(asyncio.wait_for(self._measure(path), timeout))

    async def _worker(self, name: str) -> ManagedProcess:
        listen = f"127.0.0.1:{free_port()}"
        process = spawn(
            name,
            [sys.executable, "-m", "import_svc"],
            log=self.stack.logs / f"{name}.log",
            env={**self.stack.service_env({**ENV, "CALCWIRE_ROLE": "worker"}),
                 "CALCWIRE_LISTEN": listen},
            die_with_parent=True,
        )
        self.stack.services[name] = process
        await wait_for_health(listen, timeout=60, process=process)
        return process

    async def _measure(self, path: Path) -> dict[str, Any]:
        name = f"import-worker-{uuid.uuid4().hex[:6]}"
        worker = await self._worker(name)
        data = path.read_bytes()
        try:
            async with grpc.aio.insecure_channel(
                self.stack.endpoints["import_svc"],
                options=[("grpc.max_receive_message_length", 64 * MIB)],
            ) as channel:
                workbooks = workbooks_pb2_grpc.WorkbookServiceStub(channel)
                jobs = jobs_pb2_grpc.JobServiceStub(channel)

                async def requests() -> Any:
                    yield workbooks_pb2.UploadWorkbookRequest(
                        metadata=workbooks_pb2.UploadMetadata(file_name=path.name,
                                                              request_id=str(uuid.uuid4())))
                    for start in range(0, len(data), MIB):
                        yield workbooks_pb2.UploadWorkbookRequest(chunk=data[start:start + MIB])

                started = time.perf_counter()
                md = ((INTERNAL_SECRET_METADATA_KEY, self.stack.ensure_internal_secret()),
                      (TENANT_METADATA_KEY, "bench"))
                answer = await workbooks.UploadWorkbook(requests(), timeout=600, metadata=md)
                uploaded = time.perf_counter()
                final = None
                async for message in jobs.WatchJob(jobs_pb2.WatchJobRequest(name=answer.job.name),
                                                   metadata=md):
                    job = message.job
                    if job.state in (jobs_pb2.JOB_STATE_FAILED, jobs_pb2.JOB_STATE_CANCELLED):
                        raise RuntimeError(f"import failed: {job.error.reason} {job.error.message}")
                    if job.stage == jobs_pb2.JOB_STAGE_WRITING_CELLS and job.percent >= 50:
                        final = job
                        break
                stored = time.perf_counter()
                assert final is not None
                model = (await workbooks.GetModel(
                    workbooks_pb2.GetModelRequest(name=answer.model.name), metadata=md)).model
            peak = _peak_rss_mb(worker.pid)
        finally:
            await asyncio.to_thread(worker.stop)
            self.stack.services.pop(name, None)
        split = _parse_write_split(self.stack.logs / f"{name}.log")
        return {
            "upload_s": uploaded - started,
            "stored_s": stored - uploaded,
            "cells": model.cell_counts.total,
            "formulas": model.cell_counts.formulas,
            "worker_peak_rss_mb": peak,
            "server_peak_rss_mb": _peak_rss_mb(self.stack.services["import_svc"].pid),
            **split,
        }


def _parse_write_split(log: Path) -> dict[str, float]:
    for line in log.read_text().splitlines():
        if '"cells stored"' in line:
            record = json.loads(line)
            return {"parse_s": float(record["parse_s"]), "write_s": float(record["write_s"])}
    return {}
