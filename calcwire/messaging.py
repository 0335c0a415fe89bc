"""NATS JetStream: the connection, the topology every service relies on, and the
pull loop workers run.

Topology (PLATFORM.md), defined once here:

- stream ``CALCWIRE_WORK`` (work-queue retention) with subjects
  ``calcwire.work.{import,evaluate,validate}`` and one durable pull consumer per
  stage (``import-worker``, ``eval-worker``, ``validation-worker``): explicit
  ack, :data:`WORK_ACK_WAIT` seconds to ack or report progress, at most
  :data:`WORK_MAX_DELIVER` deliveries;
- stream ``CALCWIRE_JOB_EVENTS`` (limits retention, kept for the job
  retention) with subjects ``calcwire.jobs.<job_id>.events``;
- object store bucket ``calcwire-workbooks`` for uploaded files;
- key-value bucket ``calcwire-job-cancel``: a key per job whose cancellation
  was asked for (kept for the job retention), which workers check.

``ensure_*`` make a thing exist with the intended config: create it when it is
missing, update it when its config drifted, leave it alone otherwise; every
service runs :func:`ensure_topology` at start-up, so the order in which
services start does not matter.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, Literal

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    ConsumerInfo,
    KeyValueConfig,
    ObjectStoreConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
    StreamInfo,
)
from nats.js.kv import KeyValue
from nats.js.object_store import ObjectStore

from calcwire.logs import get_logger

__all__ = [
    "DEFAULT_JOB_RETENTION_DAYS",
    "JOB_CANCEL_BUCKET",
    "JOB_EVENTS_STREAM",
    "STAGES",
    "WORKBOOKS_BUCKET",
    "WORK_ACK_WAIT",
    "WORK_CONSUMERS",
    "WORK_MAX_DELIVER",
    "WORK_STREAM",
    "WORK_SUBJECTS",
    "MessageHandler",
    "Stage",
    "check_nats",
    "connect_nats",
    "consume",
    "ensure_consumer",
    "ensure_key_value",
    "ensure_object_store",
    "ensure_stream",
    "ensure_topology",
    "job_cancel_bucket_config",
    "job_events_stream_config",
    "job_events_subject",
    "keep_in_progress",
    "pull_loop",
    "work_consumer_config",
    "work_message_id",
    "work_stream_config",
    "workbooks_bucket_config",
]

log = get_logger(__name__)

Stage = Literal["import", "evaluate", "validate"]
STAGES: Final[tuple[Stage, ...]] = ("import", "evaluate", "validate")

WORK_STREAM: Final = "CALCWIRE_WORK"
WORK_SUBJECTS: Final[Mapping[Stage, str]] = {stage: f"calcwire.work.{stage}" for stage in STAGES}
WORK_CONSUMERS: Final[Mapping[Stage, str]] = {
    "import": "import-worker",
    "evaluate": "eval-worker",
    "validate": "validation-worker",
}
WORK_ACK_WAIT: Final = 30.0
WORK_MAX_DELIVER: Final = 5
# Long enough to swallow a publisher's retries of the same Nats-Msg-Id.
WORK_DUPLICATE_WINDOW: Final = 600.0

JOB_EVENTS_STREAM: Final = "CALCWIRE_JOB_EVENTS"
DEFAULT_JOB_RETENTION_DAYS: Final = 30.0
EVENTS_DUPLICATE_WINDOW: Final = 120.0

WORKBOOKS_BUCKET: Final = "calcwire-workbooks"
JOB_CANCEL_BUCKET: Final = "calcwire-job-cancel"

MessageHandler = Callable[[Msg], Awaitable[None]]


def job_events_subject(job_id: str) -> str:
    return f"calcwire.jobs.{job_id}.events"


def work_message_id(job_id: str, stage: Stage, generation: int) -> str:
    """The ``Nats-Msg-Id`` of a work message: a resend of the same attempt is a duplicate."""
    return f"{job_id}:{stage}:{generation}"


def work_stream_config() -> StreamConfig:
    return StreamConfig(
        name=WORK_STREAM,
        description="calcwire work queue: one message per job stage",
        subjects=[WORK_SUBJECTS[s] for s in STAGES],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=WORK_DUPLICATE_WINDOW,
        num_replicas=1,
    )


def job_events_stream_config(retention_days: float = DEFAULT_JOB_RETENTION_DAYS) -> StreamConfig:
    return StreamConfig(
        name=JOB_EVENTS_STREAM,
        description="calcwire job progress events, replayed by WatchJob",
        subjects=[job_events_subject("*")],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=retention_days * 86400.0,
        duplicate_window=EVENTS_DUPLICATE_WINDOW,
        num_replicas=1,
    )


def work_consumer_config(stage: Stage, *, ack_wait: float = WORK_ACK_WAIT) -> ConsumerConfig:
    name = WORK_CONSUMERS[stage]
    return ConsumerConfig(
        name=name,
        durable_name=name,
        description=f"calcwire {stage} workers",
        filter_subject=WORK_SUBJECTS[stage],
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_deliver=WORK_MAX_DELIVER,
    )


def job_cancel_bucket_config(
    retention_days: float = DEFAULT_JOB_RETENTION_DAYS,
) -> KeyValueConfig:
    return KeyValueConfig(
        bucket=JOB_CANCEL_BUCKET,
        description="calcwire jobs whose cancellation was requested",
        history=1,
        ttl=retention_days * 86400.0,
        storage=StorageType.FILE,
    )


def workbooks_bucket_config() -> ObjectStoreConfig:
    return ObjectStoreConfig(
        bucket=WORKBOOKS_BUCKET,
        description="uploaded workbooks, keyed by SHA-256",
        storage=StorageType.FILE,
    )


# --------------------------------------------------------------------------- connection


async def connect_nats(
    urls: Sequence[str],
    *,
    name: str,
    startup_timeout: float = 60.0,
) -> NATS:
    """Connect, waiting up to ``startup_timeout`` seconds for a server.

    Once connected the client reconnects forever on its own; disconnections
    and reconnections are logged. Raises ``ConnectionError`` when no server
    answers in time.
    """
    nc = NATS()
    state = {"connected": False}

    async def on_error(exc: Exception) -> None:
        if state["connected"]:
            log.warning("NATS error", error=f"{type(exc).__name__}: {exc}")
        else:
            log.warning(
                "waiting for NATS", servers=list(urls), error=f"{type(exc).__name__}: {exc}"
            )

    async def on_disconnected() -> None:
        if state["connected"]:
            log.warning("NATS disconnected")

    async def on_reconnected() -> None:
        log.info(
            "NATS reconnected", server=str(nc.connected_url.netloc if nc.connected_url else "")
        )

    async def on_closed() -> None:
        log.info("NATS connection closed")

    try:
        await asyncio.wait_for(
            nc.connect(
                servers=list(urls),
                name=name,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=1,
                connect_timeout=2,
                ping_interval=10,
                max_outstanding_pings=3,
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
                closed_cb=on_closed,
            ),
            timeout=startup_timeout,
        )
    except TimeoutError:
        await _close_quietly(nc)
        raise ConnectionError(
            f"NATS at {', '.join(urls)} not reachable after {startup_timeout:g}s"
        ) from None
    state["connected"] = True
    return nc


async def _close_quietly(nc: NATS) -> None:
    try:
        await nc.close()
    except Exception as exc:  # noqa: BLE001 - closing a half-open client may fail in many ways
        log.debug("closing an unconnected NATS client failed", error=str(exc))


async def check_nats(nc: NATS, js: JetStreamContext, *, timeout: float = 2.0) -> bool:
    """Whether the client is connected and JetStream answers within ``timeout``."""
    if not nc.is_connected:
        return False
    try:
        await asyncio.wait_for(js.account_info(), timeout=timeout)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        log.debug("NATS check failed", error=f"{type(exc).__name__}: {exc}")
        return False


# --------------------------------------------------------------------------- topology


def _drift(wanted: Mapping[str, Any], actual: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields of ``wanted`` whose value differs in ``actual`` (the server's view).

    The server leaves out fields at their zero value, so a missing field
    equals False, 0 or an empty collection.
    """
    drift = {}
    for key, value in wanted.items():
        if key in ("name",):
            continue
        have = actual.get(key)
        if isinstance(value, list) and isinstance(have, list):
            same = sorted(map(str, value)) == sorted(map(str, have))
        elif have is None:
            same = value in (False, 0, "", [], {})
        else:
            same = value == have
        if not same:
            drift[key] = (have, value)
    return drift


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> StreamInfo:
    """Create the stream, or bring an existing one to ``config``.

    Fields the server cannot change on a live stream (retention, storage)
    raise the server's error, which says which field it refused.
    """
    assert config.name
    try:
        info = await js.stream_info(config.name)
    except nats.js.errors.NotFoundError:
        try:
            return await js.add_stream(config)
        except nats.js.errors.BadRequestError:
            # Another replica created it between our two calls; check what it made.
            info = await js.stream_info(config.name)
    drift = _drift(config.as_dict(), info.config.as_dict())
    if not drift:
        return info
    log.info("updating stream config", stream=config.name, changes=_describe(drift))
    return await js.update_stream(config)


async def ensure_consumer(
    js: JetStreamContext, stream: str, config: ConsumerConfig
) -> ConsumerInfo:
    """Create the durable consumer, or bring an existing one to ``config``."""
    name = config.durable_name or config.name
    assert name
    try:
        info: ConsumerInfo = await js.consumer_info(stream, name)
    except nats.js.errors.NotFoundError:
        return await js.add_consumer(stream, config)
    drift = _drift(config.as_dict(), info.config.as_dict())
    if not drift:
        return info
    log.info("updating consumer config", stream=stream, consumer=name, changes=_describe(drift))
    return await js.add_consumer(stream, config)


async def ensure_object_store(js: JetStreamContext, config: ObjectStoreConfig) -> ObjectStore:
    """Create the object store bucket, or bring its limits (ttl, max bytes) to ``config``."""
    bucket = config.bucket
    assert bucket
    try:
        store = await js.object_store(bucket)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_object_store(bucket, config=dataclasses.replace(config))
    await _update_backing_stream(
        js,
        f"OBJ_{bucket}",
        description=config.description,
        max_age=config.ttl,
        max_bytes=config.max_bytes,
    )
    return store


async def ensure_key_value(js: JetStreamContext, config: KeyValueConfig) -> KeyValue:
    """Create the key-value bucket, or bring its limits (ttl, history, max bytes) to ``config``."""
    try:
        kv = await js.key_value(config.bucket)
    except nats.js.errors.BucketNotFoundError:
        try:
            return await js.create_key_value(config=dataclasses.replace(config))
        except nats.js.errors.BadRequestError:
            # Another replica created it between our two calls.
            kv = await js.key_value(config.bucket)
    await _update_backing_stream(
        js,
        f"KV_{config.bucket}",
        description=config.description,
        max_age=config.ttl,
        max_bytes=config.max_bytes,
        max_msgs_per_subject=config.history,
    )
    return kv


async def _update_backing_stream(js: JetStreamContext, stream: str, **limits: Any) -> None:
    info = await js.stream_info(stream)
    have = info.config.as_dict()
    wanted = {k: v for k, v in limits.items() if v is not None}
    wanted_wire = StreamConfig(**wanted).as_dict() if wanted else {}
    wanted_wire = {k: wanted_wire[k] for k in wanted if k in wanted_wire}
    drift = _drift(wanted_wire, have)
    if drift:
        log.info("updating bucket limits", stream=stream, changes=_describe(drift))
        await js.update_stream(dataclasses.replace(info.config, **wanted))


def _describe(drift: Mapping[str, tuple[Any, Any]]) -> dict[str, str]:
    return {key: f"{have!r} -> {want!r}" for key, (have, want) in drift.items()}


async def ensure_topology(
    js: JetStreamContext,
    *,
    job_retention_days: float = DEFAULT_JOB_RETENTION_DAYS,
    ack_wait: float = WORK_ACK_WAIT,
) -> None:
    """Make the streams, work consumers and buckets of PLATFORM.md exist.

    ``job_retention_days`` (CALCWIRE_JOB_RETENTION_DAYS) bounds the job events
    and cancel requests; ``ack_wait`` (CALCWIRE_ACK_WAIT_SECONDS) is the work
    consumers' ack wait.
    """
    await ensure_stream(js, work_stream_config())
    await ensure_stream(js, job_events_stream_config(job_retention_days))
    for stage in STAGES:
        await ensure_consumer(js, WORK_STREAM, work_consumer_config(stage, ack_wait=ack_wait))
    await ensure_object_store(js, workbooks_bucket_config())
    await ensure_key_value(js, job_cancel_bucket_config(job_retention_days))


# --------------------------------------------------------------------------- workers


async def consume(
    js: JetStreamContext,
    stage: Stage,
    handle: MessageHandler,
    stopping: asyncio.Event,
    *,
    fetch_timeout: float = 1.0,
) -> None:
    """Pull the ``stage``'s work messages one at a time until ``stopping`` is set.

    ``handle`` returning acks the message (unless it acked, nak'ed or
    terminated it itself); raising nak's it, so JetStream redelivers it up to
    :data:`WORK_MAX_DELIVER` times. When ``stopping`` is set the loop takes no
    new message and returns after the current one; if the task is cancelled
    while a message is in hand (shutdown grace ran out), the message is nak'ed
    so another worker takes it at once rather than after the ack wait.
    """
    await pull_loop(
        js, WORK_STREAM, WORK_CONSUMERS[stage], handle, stopping, fetch_timeout=fetch_timeout
    )


async def pull_loop(
    js: JetStreamContext,
    stream: str,
    durable: str,
    handle: MessageHandler,
    stopping: asyncio.Event,
    *,
    fetch_timeout: float = 1.0,
) -> None:
    """:func:`consume` for any durable pull consumer."""
    sub = await js.pull_subscribe_bind(durable=durable, stream=stream)
    bound = log.bind(stream=stream, consumer=durable)
    try:
        while not stopping.is_set():
            try:
                messages = await sub.fetch(1, timeout=fetch_timeout)
            except TimeoutError:  # nats-py raises its own (a subclass) or asyncio's, by path
                continue
            except nats.errors.Error as exc:
                bound.warning("fetch failed; retrying", error=f"{type(exc).__name__}: {exc}")
                await _sleep_unless(stopping, 1.0)
                continue
            for msg in messages:
                if stopping.is_set():
                    await _settle(msg.nak)
                    continue
                await _handle_one(msg, handle, bound)
    finally:
        try:
            await sub.unsubscribe()
        except nats.errors.Error:
            pass


async def _handle_one(msg: Msg, handle: MessageHandler, bound: Any) -> None:
    try:
        await handle(msg)
    except asyncio.CancelledError:
        if not msg.is_acked:
            bound.warning("handing back in-flight message", subject=msg.subject)
            await _settle(msg.nak)
        raise
    except Exception:  # noqa: BLE001 - any failure of a handler means "retry the message"
        bound.exception(
            "message handler failed; message will be redelivered",
            subject=msg.subject,
            delivered=msg.metadata.num_delivered,
        )
        if not msg.is_acked:
            await _settle(msg.nak)
    else:
        if not msg.is_acked:
            # Confirmed by the server, so "handled" never rests on an ack still in a buffer.
            await _settle(msg.ack_sync)


async def _settle(action: Callable[[], Awaitable[object]]) -> None:
    try:
        await action()
    except nats.errors.Error as exc:
        # The server redelivers after the ack wait anyway; nothing is lost.
        log.warning("could not settle message", error=f"{type(exc).__name__}: {exc}")


async def _sleep_unless(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), timeout=seconds)
    except TimeoutError:
        pass


@asynccontextmanager
async def keep_in_progress(msg: Msg, *, every: float = WORK_ACK_WAIT / 3) -> AsyncIterator[None]:
    """Tell JetStream every ``every`` seconds that ``msg`` is still being worked on.

    Wrap a long stage in it so that the message is not redelivered to another
    worker while this one is alive; if the process dies, the reports stop and
    the message is redelivered after the ack wait.
    """

    async def report() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await msg.in_progress()
            except nats.errors.Error as exc:
                log.warning("could not report progress", error=f"{type(exc).__name__}: {exc}")

    task = asyncio.create_task(report())
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
