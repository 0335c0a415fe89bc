"""Graceful shutdown of the server bootstrap, in-process: workers finish or hand back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import grpc
import grpc.aio
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType, StreamConfig

from calcwire.config import load_settings
from calcwire.devstack import health_status
from calcwire.messaging import ensure_consumer, ensure_stream, pull_loop
from calcwire.server import Registry, Runtime, ServiceHost, ServiceSpec


@pytest.fixture
async def queue(jetstream: JetStreamContext) -> AsyncIterator[str]:
    stream = f"SHUTDOWN_{uuid.uuid4().hex[:8]}"
    await ensure_stream(
        jetstream,
        StreamConfig(
            name=stream,
            subjects=[f"{stream}.>"],
            retention=RetentionPolicy.WORK_QUEUE,
            storage=StorageType.MEMORY,
        ),
    )
    await ensure_consumer(
        jetstream,
        stream,
        ConsumerConfig(name="w", durable_name="w", ack_policy=AckPolicy.EXPLICIT, ack_wait=30.0),
    )
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


class TestWorkers:
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


class TestServer:
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
