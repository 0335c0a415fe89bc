"""Must show: a parsing worker killed with SIGKILL in the middle of a parse; the message is
delivered again (short ack wait), another worker imports the job, each cell stored once.

Also: WatchJob ends its stream when its server shuts down. This module runs its own
PostgreSQL and NATS, so no worker of the session's services can take the message.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys
import time
from collections.abc import AsyncIterator

import grpc
import grpc.aio
import pytest
from import_helpers import Client, internal_metadata
from tests_support import TEST_SERVICE_ENV

from calcwire.db import create_pool
from calcwire.devstack import LocalStack, free_port, wait_for_health
from calcwire.devstack.processes import ManagedProcess, spawn
from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2
from calcwire.workbook.generate import generate_model
from calcwire.workbook.writer import write_workbook

pytestmark = pytest.mark.stack

ACK_WAIT = 3.0
TENANT = "kill-test"
ENV = {**TEST_SERVICE_ENV, "CALCWIRE_ACK_WAIT_SECONDS": str(ACK_WAIT)}


@pytest.fixture(scope="module")
async def own_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalStack]:
    stack = LocalStack(run_dir=tmp_path_factory.mktemp("kill-stack"), die_with_parent=True)
    try:
        await stack.start_infrastructure()
        await stack.start_services(["import_svc"], extra_env={**ENV, "CALCWIRE_ROLE": "server"})
        yield stack
    finally:
        stack.stop()


async def start_worker(stack: LocalStack, name: str) -> ManagedProcess:
    listen = f"127.0.0.1:{free_port()}"
    process = spawn(
        name,
        [sys.executable, "-m", "import_svc"],
        log=stack.logs / f"{name}.log",
        env={**stack.service_env({**ENV, "CALCWIRE_ROLE": "worker"}), "CALCWIRE_LISTEN": listen},
        die_with_parent=True,
    )
    stack.services[name] = process  # stopped with the stack
    await wait_for_health(listen, timeout=60, process=process)
    return process


def parse_progress(message: jobs_pb2.WatchJobResponse) -> bool:
    event = message.event
    return event.stage == jobs_pb2.JOB_STAGE_PARSING and "parsing sheet" in event.message


class TestWorkerKilledMidParse:
    async def test_the_job_completes_on_redelivery_with_each_cell_once(
        self, own_stack: LocalStack
    ) -> None:
        workbook = generate_model(150_000)
        expected_cells = sum(len(s.cells) for s in workbook.sheets)
        buffer = io.BytesIO()
        write_workbook(workbook, buffer)

        first = await start_worker(own_stack, "import-worker-a")
        async with grpc.aio.insecure_channel(own_stack.endpoints["import_svc"]) as channel:
            client = Client(channel, TENANT,
                            internal_metadata(own_stack.ensure_internal_secret(), TENANT))
            answer = await client.upload(buffer.getvalue())
            seen = await client.watch(answer.job.name, parse_progress)
            assert parse_progress(seen[-1][1])  # the parse is under way ...
            os.kill(first.pid, signal.SIGKILL)  # ... and its worker dies
            killed_at = time.monotonic()
            await asyncio.to_thread(first.stop)  # reap it

            await start_worker(own_stack, "import-worker-b")
            events = await client.wait_imported(answer.job.name, timeout=120)
            final = events[-1]
            assert final.state == jobs_pb2.JOB_STATE_RUNNING, final
            assert final.stage == jobs_pb2.JOB_STAGE_WRITING_CELLS and final.percent == 50
            assert any("(attempt 2)" in e.message for e in events), [e.message for e in events]
            assert time.monotonic() - killed_at < 60

        pool = await create_pool(own_stack.database_url, min_size=1, max_size=2)
        try:
            counts = await pool.fetchrow(
                """SELECT count(*) AS cells,
                          count(DISTINCT (sheet_index, row_num, col_num)) AS positions
                   FROM workbooks.cells WHERE tenant_id = 'kill-test'""")
            assert counts["cells"] == counts["positions"] == expected_cells
            assert await pool.fetchval(
                "SELECT state FROM workbooks.models WHERE tenant_id = 'kill-test'") == "READY"
        finally:
            await pool.close()
        assert "Traceback" not in (own_stack.logs / "import-worker-b.log").read_text()

    async def test_watch_ends_when_its_server_stops(self, own_stack: LocalStack) -> None:
        async with grpc.aio.insecure_channel(own_stack.endpoints["import_svc"]) as channel:
            client = Client(channel, TENANT,
                            internal_metadata(own_stack.ensure_internal_secret(), TENANT))
            jobs = await client.jobs.ListJobs(jobs_pb2.ListJobsRequest(), metadata=client.md)
            live = [j for j in jobs.jobs if j.state == jobs_pb2.JOB_STATE_RUNNING]
            assert live  # this stack has no evaluation worker: the job above never ends here
            call = client.jobs.WatchJob(jobs_pb2.WatchJobRequest(name=live[0].name),
                                        metadata=client.md)
            await call.read()
            server = own_stack.services["import_svc"]
            started = time.monotonic()
            os.kill(server.pid, signal.SIGTERM)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                while await asyncio.wait_for(call.read(), 10) is not grpc.aio.EOF:
                    pass
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
            assert error_reason(caught.value) == "SHUTTING_DOWN"
            assert time.monotonic() - started < float(ENV["CALCWIRE_SHUTDOWN_GRACE_SECONDS"])

