"""The server bootstrap in-process: roles, request context, graceful shutdown."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator, Callable

import grpc
import grpc.aio
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from tests_support import make_work_queue

from calcwire.config import load_settings
from calcwire.devstack import health_status
from calcwire.logs import configure_logging, get_logger
from calcwire.messaging import pull_loop
from calcwire.server import Registry, Runtime, ServiceHost, ServiceSpec, request_tenant


@pytest.fixture
async def queue(jetstream: JetStreamContext) -> AsyncIterator[str]:
    stream = await make_work_queue(jetstream, "SHUTDOWN")
    yield stream
    await jetstream.delete_stream(stream)


def host_with_worker(nats_url: str, stream: str, handle: object, grace: str) -> ServiceHost:
    def setup(runtime: Runtime, registry: Registry) -> None:
        js = runtime.require_jetstream()
        registry.add_worker(
            "test-worker",
            lambda stopping: pull_loop(js, stream, "w", handle, stopping, fetch_timeout=0.2),
        )  # type: ignore[arg-type]

    settings = load_settings(
        "import_svc",
        {
            "CALCWIRE_LISTEN": "127.0.0.1:0",
            "NATS_URL": nats_url,
            "CALCWIRE_SHUTDOWN_GRACE_SECONDS": grace,
            "CALCWIRE_HEALTH_INTERVAL_SECONDS": "0.2",
        },
    )
    return ServiceHost(
        ServiceSpec(name="import_svc", schema=None, uses_nats=True, setup=setup), settings
    )


class TestShutdownWorkers:
    async def test_message_in_hand_is_finished_within_the_grace(
        self, nats_url: str, jetstream: JetStreamContext, queue: str
    ) -> None:
        started, finished = asyncio.Event(), asyncio.Event()

        async def handle(msg: Msg) -> None:
            started.set()
            await asyncio.sleep(0.5)
            finished.set()

        host = host_with_worker(nats_url, queue, handle, grace="10")
        await host.start()
        await jetstream.publish(f"{queue}.x", b"job")
        await asyncio.wait_for(started.wait(), 10)
        began = time.monotonic()
        await host.stop()
        assert finished.is_set()
        assert time.monotonic() - began < 5  # did not wait out the 10 s grace
        info = await jetstream.consumer_info(queue, "w")
        assert (info.num_ack_pending, info.num_pending, info.num_redelivered) == (0, 0, 0)

    async def test_message_still_in_hand_after_the_grace_is_handed_back(
        self, nats_url: str, jetstream: JetStreamContext, queue: str
    ) -> None:
        started = asyncio.Event()

        async def stuck(msg: Msg) -> None:
            started.set()
            await asyncio.sleep(3600)

        host = host_with_worker(nats_url, queue, stuck, grace="0.5")
        await host.start()
        await jetstream.publish(f"{queue}.x", b"job")
        await asyncio.wait_for(started.wait(), 10)
        began = time.monotonic()
        await host.stop()
        assert time.monotonic() - began < 3
        sub = await jetstream.pull_subscribe_bind(durable="w", stream=queue)
        (again,) = await sub.fetch(1, timeout=5)  # at once, not after the 30 s ack wait
        assert again.metadata.num_delivered == 2
        await again.ack()
        await sub.unsubscribe()


class TestShutdownServer:
    async def test_health_goes_not_serving_and_new_calls_are_refused(
        self, nats_url: str, queue: str
    ) -> None:
        async def handle(msg: Msg) -> None:
            pass

        host = host_with_worker(nats_url, queue, handle, grace="1")
        await host.start()
        target = f"127.0.0.1:{host.port}"
        assert await health_status(target) == "SERVING"
        await host.stop()
        assert await health_status(target, timeout=1) == "UNREACHABLE"

    async def test_in_flight_call_finishes_during_shutdown(self, nats_url: str) -> None:
        entered, release = asyncio.Event(), asyncio.Event()

        async def slow(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
            entered.set()
            await release.wait()
            return b"done"

        def setup(runtime: Runtime, registry: Registry) -> None:
            handler = grpc.method_handlers_generic_handler(
                "t.Slow", {"Call": grpc.unary_unary_rpc_method_handler(slow)}
            )
            registry.add_generic_handler("t.Slow", handler)

        settings = load_settings(
            "import_svc",
            {
                "CALCWIRE_LISTEN": "127.0.0.1:0",
                "NATS_URL": nats_url,
                "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "10",
            },
        )
        host = ServiceHost(ServiceSpec(name="import_svc", schema=None, setup=setup), settings)
        await host.start()
        async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel:
            call = channel.unary_unary("/t.Slow/Call")(b"", timeout=20)
            await asyncio.wait_for(entered.wait(), 10)
            stopping = asyncio.create_task(host.stop())
            await asyncio.sleep(0.3)
            assert not stopping.done()  # waits for the call in flight
            release.set()
            assert await call == b"done"
            await stopping


def echo_setup(seen: list[str]) -> Callable[[Runtime, Registry], None]:
    """A servicer that logs one line per call, and a worker that records it ran."""

    async def echo(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        get_logger("tests.echo").info("echo called")
        return request_tenant(context).encode()

    async def worker(stopping: asyncio.Event) -> None:
        seen.append("worker ran")
        await stopping.wait()

    def setup(runtime: Runtime, registry: Registry) -> None:
        handler = grpc.method_handlers_generic_handler(
            "t.Echo", {"Call": grpc.unary_unary_rpc_method_handler(echo)}
        )
        registry.add_generic_handler("t.Echo", handler)
        registry.add_worker("echo-worker", worker)

    return setup


async def start_echo(nats_url: str, role: str, seen: list[str]) -> ServiceHost:
    settings = load_settings(
        "eval_svc",
        {
            "CALCWIRE_LISTEN": "127.0.0.1:0",
            "NATS_URL": nats_url,
            "CALCWIRE_ROLE": role,
            "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "1",
        },
    )
    host = ServiceHost(ServiceSpec(name="eval_svc", schema=None, setup=echo_setup(seen)), settings)
    await host.start()
    return host


async def call_echo(
    host: ServiceHost, metadata: tuple[tuple[str, str], ...] = ()
) -> grpc.StatusCode:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel:
        try:
            await channel.unary_unary("/t.Echo/Call")(b"x", timeout=5, metadata=metadata)
        except grpc.aio.AioRpcError as error:
            return error.code()
    return grpc.StatusCode.OK


class TestRoles:
    @pytest.mark.parametrize(
        ("role", "serves", "works"),
        [("all", True, True), ("server", True, False), ("worker", False, True)],
    )
    async def test_role_chooses_servicers_and_workers(
        self, nats_url: str, role: str, serves: bool, works: bool
    ) -> None:
        seen: list[str] = []
        host = await start_echo(nats_url, role, seen)
        try:
            code = await call_echo(host)
            assert (code == grpc.StatusCode.OK) is serves
            assert (seen == ["worker ran"]) is works
            assert (
                await health_status(f"127.0.0.1:{host.port}") == "SERVING"
            )  # probes work in every role
            assert await health_status(f"127.0.0.1:{host.port}", "t.Echo") == (
                "SERVING" if serves else "SERVICE_UNKNOWN"
            )
        finally:
            await host.stop()


class TestRequestContext:
    async def test_log_lines_of_a_call_carry_its_ids(self, nats_url: str) -> None:
        stream = io.StringIO()
        configure_logging(service="eval_svc", production=True, level="info", stream=stream)
        host = await start_echo(nats_url, "server", [])
        try:
            metadata = (("x-request-id", "req-7"), ("x-calcwire-tenant", "acme"))
            assert await call_echo(host, metadata) == grpc.StatusCode.OK
            assert await call_echo(host) == grpc.StatusCode.OK
        finally:
            await host.stop()
            configure_logging(service="tests", production=False, level="info")
        calls = [
            json.loads(line) for line in stream.getvalue().splitlines() if '"echo called"' in line
        ]
        assert len(calls) == 2
        first, second = calls
        assert (first["request_id"], first["tenant"], first["rpc_method"]) == (
            "req-7",
            "acme",
            "/t.Echo/Call",
        )
        assert second["tenant"] == "default" and len(str(second["request_id"])) == 32  # generated

    async def test_request_tenant(self, nats_url: str) -> None:
        host = await start_echo(nats_url, "server", [])
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel:
                echo = channel.unary_unary("/t.Echo/Call")
                assert (
                    await echo(b"", timeout=5, metadata=(("x-calcwire-tenant", "acme"),)) == b"acme"
                )
                assert await echo(b"", timeout=5) == b"default"
        finally:
            await host.stop()


class TestSupervision:
    async def test_a_crashed_worker_runs_again(self, nats_url: str) -> None:
        """A consumer loop that dies must not leave the service deaf to its queue."""
        runs: list[float] = []
        again = asyncio.Event()

        async def worker(stopping: asyncio.Event) -> None:
            runs.append(time.monotonic())
            if len(runs) == 1:
                raise TimeoutError("a fetch timed out the way nats-py sometimes does")
            again.set()
            await stopping.wait()

        def setup(runtime: Runtime, registry: Registry) -> None:
            registry.add_worker("flaky-worker", worker)

        settings = load_settings(
            "eval_svc",
            {"CALCWIRE_LISTEN": "127.0.0.1:0", "NATS_URL": nats_url,
             "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "1"},
        )
        host = ServiceHost(ServiceSpec(name="eval_svc", schema=None, setup=setup), settings)
        await host.start()
        try:
            await asyncio.wait_for(again.wait(), timeout=5)
        finally:
            await host.stop()
        assert len(runs) == 2
        assert runs[1] - runs[0] >= 0.9  # after a pause, not in a tight loop
