"""JetStream topology and the worker pull loop, against the harness's real NATS."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator

import nats.js.errors
import pytest
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    KeyValueConfig,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from tests_support import make_work_queue

from calcwire.messaging import (
    JOB_EVENTS_STREAM,
    WORK_ACK_WAIT,
    WORK_CONSUMERS,
    WORK_MAX_DELIVER,
    WORK_STREAM,
    WORKBOOKS_BUCKET,
    check_nats,
    connect_nats,
    ensure_consumer,
    ensure_key_value,
    ensure_object_store,
    ensure_stream,
    ensure_topology,
    job_events_subject,
    keep_in_progress,
    pull_loop,
    work_message_id,
)


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


class TestTopology:
    async def test_creates_everything_platform_md_lists(self, jetstream: JetStreamContext) -> None:
        await ensure_topology(jetstream)
        work = await jetstream.stream_info(WORK_STREAM)
        assert work.config.retention == RetentionPolicy.WORK_QUEUE
        assert sorted(work.config.subjects or []) == [
            "calcwire.work.evaluate",
            "calcwire.work.import",
            "calcwire.work.validate",
        ]
        events = await jetstream.stream_info(JOB_EVENTS_STREAM)
        assert events.config.retention == RetentionPolicy.LIMITS
        assert events.config.subjects == [job_events_subject("*")]
        assert events.config.max_age == 30 * 86400
        for stage, name in WORK_CONSUMERS.items():
            info = await jetstream.consumer_info(WORK_STREAM, name)
            assert info.config.filter_subject == f"calcwire.work.{stage}"
            assert info.config.ack_policy == AckPolicy.EXPLICIT
            assert info.config.ack_wait == WORK_ACK_WAIT
            assert info.config.max_deliver == WORK_MAX_DELIVER
        await jetstream.object_store(WORKBOOKS_BUCKET)

    async def test_running_it_again_changes_nothing(self, jetstream: JetStreamContext) -> None:
        await ensure_topology(jetstream)
        before = (await jetstream.stream_info(WORK_STREAM)).created
        consumer_before = (await jetstream.consumer_info(WORK_STREAM, "import-worker")).created
        await asyncio.gather(ensure_topology(jetstream), ensure_topology(jetstream))
        assert (await jetstream.stream_info(WORK_STREAM)).created == before
        assert (
            await jetstream.consumer_info(WORK_STREAM, "import-worker")
        ).created == consumer_before

    async def test_stream_whose_config_drifted_is_updated(
        self, jetstream: JetStreamContext
    ) -> None:
        name = unique("DRIFT")
        config = StreamConfig(
            name=name,
            subjects=[f"{name}.a"],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.MEMORY,
            max_age=60.0,
            duplicate_window=30.0,
        )
        created = await ensure_stream(jetstream, config)
        again = await ensure_stream(jetstream, config)
        assert again.created == created.created
        changed = dataclasses.replace(config, subjects=[f"{name}.a", f"{name}.b"], max_age=120.0)
        updated = await ensure_stream(jetstream, changed)
        assert sorted(updated.config.subjects or []) == [f"{name}.a", f"{name}.b"]
        assert updated.config.max_age == 120.0
        await jetstream.delete_stream(name)

    async def test_consumer_whose_config_drifted_is_updated(
        self, jetstream: JetStreamContext
    ) -> None:
        stream = unique("CONS")
        await ensure_stream(
            jetstream,
            StreamConfig(name=stream, subjects=[f"{stream}.>"], storage=StorageType.MEMORY),
        )
        config = ConsumerConfig(
            name="w", durable_name="w", ack_policy=AckPolicy.EXPLICIT, ack_wait=10.0, max_deliver=3
        )
        await ensure_consumer(jetstream, stream, config)
        await ensure_consumer(jetstream, stream, config)
        updated = await ensure_consumer(
            jetstream, stream, dataclasses.replace(config, ack_wait=20.0, max_deliver=4)
        )
        assert (updated.config.ack_wait, updated.config.max_deliver) == (20.0, 4)
        await jetstream.delete_stream(stream)

    async def test_object_store_and_kv_buckets(self, jetstream: JetStreamContext) -> None:
        bucket = unique("obj").replace("_", "-")
        store = await ensure_object_store(
            jetstream, ObjectStoreConfig(bucket=bucket, storage=StorageType.MEMORY)
        )
        await store.put("k", b"bytes")
        same = await ensure_object_store(
            jetstream, ObjectStoreConfig(bucket=bucket, storage=StorageType.MEMORY)
        )
        assert (await same.get("k")).data == b"bytes"
        await ensure_object_store(jetstream, ObjectStoreConfig(bucket=bucket, max_bytes=1 << 20))
        assert (await jetstream.stream_info(f"OBJ_{bucket}")).config.max_bytes == 1 << 20
        await jetstream.delete_object_store(bucket)

        kv_bucket = unique("kv")
        kv = await ensure_key_value(
            jetstream, KeyValueConfig(bucket=kv_bucket, history=1, storage=StorageType.MEMORY)
        )
        await kv.put("a", b"1")
        again = await ensure_key_value(
            jetstream, KeyValueConfig(bucket=kv_bucket, history=5, storage=StorageType.MEMORY)
        )
        assert (await again.get("a")).value == b"1"
        assert (await jetstream.stream_info(f"KV_{kv_bucket}")).config.max_msgs_per_subject == 5
        await jetstream.delete_key_value(kv_bucket)

    def test_work_message_id(self) -> None:
        assert work_message_id("j1", "evaluate", 2) == "j1:evaluate:2"


class TestConnection:
    async def test_check_nats(self, nats_url: str) -> None:
        nc = await connect_nats([nats_url], name="t", startup_timeout=5)
        js = nc.jetstream()
        assert await check_nats(nc, js)
        await nc.close()
        assert not await check_nats(nc, js)

    async def test_unreachable_server_fails_after_timeout(self) -> None:
        from calcwire.devstack import free_port

        with pytest.raises(ConnectionError, match="not reachable after 0.5s"):
            await connect_nats([f"nats://127.0.0.1:{free_port()}"], name="t", startup_timeout=0.5)


@pytest.fixture
async def work_queue(jetstream: JetStreamContext) -> AsyncIterator[tuple[str, str]]:
    """A private work-queue stream with one durable consumer ``w``."""
    stream = await make_work_queue(jetstream, "WQ")
    yield stream, "w"
    await jetstream.delete_stream(stream)


class TestPullLoop:
    async def test_handled_message_is_acked(
        self, jetstream: JetStreamContext, work_queue: tuple[str, str]
    ) -> None:
        stream, durable = work_queue
        seen: list[bytes] = []
        stopping = asyncio.Event()

        async def handle(msg: Msg) -> None:
            seen.append(msg.data)
            stopping.set()

        await jetstream.publish(f"{stream}.x", b"one")
        await asyncio.wait_for(
            pull_loop(jetstream, stream, durable, handle, stopping, fetch_timeout=0.2), 10
        )
        assert seen == [b"one"]
        info = await jetstream.consumer_info(stream, durable)
        assert (info.num_ack_pending, info.num_pending) == (0, 0)

    async def test_failed_handler_naks_for_redelivery(
        self, jetstream: JetStreamContext, work_queue: tuple[str, str]
    ) -> None:
        stream, durable = work_queue
        deliveries: list[int] = []
        stopping = asyncio.Event()

        async def handle(msg: Msg) -> None:
            deliveries.append(msg.metadata.num_delivered)
            if len(deliveries) < 3:
                raise RuntimeError("transient")
            stopping.set()

        await jetstream.publish(f"{stream}.x", b"job")
        await asyncio.wait_for(
            pull_loop(jetstream, stream, durable, handle, stopping, fetch_timeout=0.2), 10
        )
        assert deliveries == [1, 2, 3]  # redelivered at once, not after the 30 s ack wait

    async def test_cancelled_while_handling_hands_the_message_back(
        self, jetstream: JetStreamContext, work_queue: tuple[str, str]
    ) -> None:
        stream, durable = work_queue
        started = asyncio.Event()

        async def stuck(msg: Msg) -> None:
            started.set()
            await asyncio.sleep(3600)

        await jetstream.publish(f"{stream}.x", b"job")
        task = asyncio.create_task(
            pull_loop(jetstream, stream, durable, stuck, asyncio.Event(), fetch_timeout=0.2)
        )
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sub = await jetstream.pull_subscribe_bind(durable=durable, stream=stream)
        (again,) = await sub.fetch(1, timeout=5)  # well before the ack wait
        assert again.metadata.num_delivered == 2
        await again.ack()
        await sub.unsubscribe()

    async def test_keep_in_progress_holds_the_message(self, jetstream: JetStreamContext) -> None:
        stream = await make_work_queue(jetstream, "SLOW", ack_wait=1.0)
        await jetstream.publish(f"{stream}.x", b"long")
        sub = await jetstream.pull_subscribe_bind(durable="w", stream=stream)
        (msg,) = await sub.fetch(1, timeout=5)
        async with keep_in_progress(msg, every=0.3):
            with pytest.raises(nats.errors.TimeoutError):
                await sub.fetch(1, timeout=2.0)  # twice the ack wait: no redelivery
        await msg.ack()
        await sub.unsubscribe()
        await jetstream.delete_stream(stream)
