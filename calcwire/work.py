"""Work orders: the messages of the work queue, and what happens to one that keeps failing.

A work order is a small JSON document on ``calcwire.work.<stage>`` with header
``Nats-Msg-Id: <job_id>:<stage>:<generation>``, so a resent order is dropped
by JetStream within the duplicate window::

    order = WorkOrder(job_id, tenant, model_id, JobKind.IMPORT, {"validate": True})
    await publish_work(js, "evaluate", order)

A worker that fails on the last delivery fails the job itself
(:func:`is_last_delivery`); one that dies on the last delivery cannot, so
:func:`fail_exhausted_orders` listens to JetStream's MAX_DELIVERIES advisories
for a stage and fails the job of each exhausted order with
``MAX_DELIVERIES_EXCEEDED``, then removes the order from the queue.
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from calcwire.job_events import JobError, JobEventLog, JobKind, JobState
from calcwire.logs import get_logger
from calcwire.messaging import (
    WORK_CONSUMERS,
    WORK_MAX_DELIVER,
    WORK_STREAM,
    WORK_SUBJECTS,
    Stage,
    keep_in_progress,
    work_message_id,
)

__all__ = [
    "MAX_DELIVERIES_REASON",
    "OnFailed",
    "Outcome",
    "StageRun",
    "StageWorker",
    "WorkOrder",
    "fail_exhausted_orders",
    "is_last_delivery",
    "publish_work",
]

log = get_logger(__name__)

MAX_DELIVERIES_REASON: Final = "MAX_DELIVERIES_EXCEEDED"


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """What a stage's worker needs to know: the job, its tenant and model, options.

    ``options`` carries stage settings such as ``validate`` (bool) and
    ``tolerance`` (``{"absolute": float, "relative": float}``).
    """

    job_id: str
    tenant: str
    model_id: str
    kind: JobKind
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "job_id": self.job_id,
                "tenant": self.tenant,
                "model_id": self.model_id,
                "kind": self.kind.value,
                "options": self.options,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> WorkOrder:
        """Parse an order; raises ``ValueError`` on anything that is not one."""
        try:
            raw = json.loads(data)
            options = raw.get("options") or {}
            if not isinstance(options, dict):
                raise TypeError("options is not an object")
            return cls(
                job_id=str(raw["job_id"]),
                tenant=str(raw["tenant"]),
                model_id=str(raw["model_id"]),
                kind=JobKind(raw["kind"]),
                options=options,
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a work order: {exc}") from exc


async def publish_work(
    js: JetStreamContext, stage: Stage, order: WorkOrder, *, generation: int = 1
) -> None:
    """Queue ``order`` for ``stage``; the same order and generation again is a duplicate."""
    await js.publish(
        WORK_SUBJECTS[stage],
        order.to_json(),
        stream=WORK_STREAM,
        headers={"Nats-Msg-Id": work_message_id(order.job_id, stage, generation)},
    )


class Outcome(enum.Enum):
    """What a stage's worker does with the order's message once the stage has run."""

    DONE = "done"
    """The stage ended (done and queued on, failed for good, cancelled): ack."""
    RETRY = "retry"
    """A passing problem (database, NATS, another service): hand the message back."""


class StageRun(Protocol):
    """A stage's runner: import_svc's Importer, eval_svc's Evaluator, validation_svc's
    Validator."""

    async def run(self, order: WorkOrder, *, attempt: int, last_attempt: bool) -> Outcome: ...


class StageWorker:
    """Handles one work message of a stage (see :func:`calcwire.messaging.consume`).

    The message is kept "in progress" while the stage runs, so only a dead
    worker's message is delivered again; a RETRY outcome hands it back with a
    backoff; a message that is not a work order is dropped for good.
    """

    def __init__(self, stage: StageRun, *, ack_wait: float) -> None:
        self.stage = stage
        self.ack_wait = ack_wait

    async def handle(self, msg: Msg) -> None:
        try:
            order = WorkOrder.from_json(msg.data)
        except ValueError as exc:
            log.error("not a work order; dropped", error=str(exc))
            await msg.term()
            return
        attempt = int(msg.metadata.num_delivered)
        async with keep_in_progress(msg, every=self.ack_wait / 3):
            outcome = await self.stage.run(
                order, attempt=attempt, last_attempt=is_last_delivery(msg)
            )
        if outcome is Outcome.RETRY:
            await msg.nak(delay=min(2.0**attempt, 30.0))


def is_last_delivery(msg: Msg) -> bool:
    """Whether a failure now leaves the order with no delivery left."""
    return int(msg.metadata.num_delivered) >= WORK_MAX_DELIVER


def _advisory_subject(stream: str, consumer: str) -> str:
    return f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.{consumer}"


OnFailed = Callable[[WorkOrder, JobError], Awaitable[None]]


async def fail_exhausted_orders(
    nc: NATS,
    js: JetStreamContext,
    stage: Stage,
    stopping: asyncio.Event,
    *,
    on_failed: OnFailed | None = None,
    stream: str = WORK_STREAM,
    consumer: str | None = None,
) -> None:
    """Until ``stopping``: fail the job of every ``stage`` order JetStream gave up on.

    ``on_failed(order, error)`` lets the stage's service record the failure in
    its own tables too. Several replicas may run this at once: the job's final
    event is deduplicated, and removing the order twice is harmless.
    ``stream`` and ``consumer`` default to the stage's work queue consumer.
    """
    events = await JobEventLog.open(js)
    sub = await nc.subscribe(_advisory_subject(stream, consumer or WORK_CONSUMERS[stage]))
    try:
        while not stopping.is_set():
            try:
                msg = await sub.next_msg(timeout=0.5)
            except TimeoutError:  # nats-py's own is a subclass
                continue
            try:
                await _fail_exhausted(js, events, stage, stream, msg.data, on_failed)
            except Exception:
                log.exception("could not handle a max-deliveries advisory", stage=stage)
    finally:
        try:
            await sub.unsubscribe()
        except nats.errors.Error:
            pass


async def _fail_exhausted(
    js: JetStreamContext,
    events: JobEventLog,
    stage: Stage,
    stream: str,
    advisory: bytes,
    on_failed: OnFailed | None,
) -> None:
    seq = int(json.loads(advisory)["stream_seq"])
    try:
        raw = await js.get_msg(stream, seq)
    except nats.js.errors.NotFoundError:
        return  # another replica handled it
    try:
        order = WorkOrder.from_json(raw.data or b"")
    except ValueError:
        log.warning("exhausted message is not a work order", stage=stage, seq=seq)
    else:
        error = JobError(
            MAX_DELIVERIES_REASON,
            f"the {stage} stage failed {WORK_MAX_DELIVER} times "
            "(its worker stopped or crashed each time)",
        )
        job = await events.last(order.job_id)
        if job is not None and not job.final:
            if on_failed is not None:
                await on_failed(order, error)
            await events.publish(
                job.next(
                    state=JobState.FAILED,
                    message=f"gave up after {WORK_MAX_DELIVER} attempts",
                    error=error,
                )
            )
            log.warning("job failed: deliveries exhausted", job_id=order.job_id, stage=stage)
    try:
        await js.delete_msg(stream, seq)
    except nats.js.errors.NotFoundError:
        pass
