"""Job progress events: the record, publishing with throttling, cancellation, watching.

Every long action (import, evaluate, validate) is a job whose history is the
sequence of events on JetStream subject ``calcwire.jobs.<job_id>.events``
(stream ``CALCWIRE_JOB_EVENTS``). Each event is the whole job as it is after
the event (:class:`JobEvent`), so the last event alone says where a job is,
and any service's worker can publish the next one. import_svc projects the
events into PostgreSQL and serves JobService from there.

State machine: QUEUED -> RUNNING -> SUCCEEDED | FAILED | CANCELLED. A final
state is final: :func:`fold` ignores whatever follows it, and a final event is
published with ``Nats-Msg-Id: <job>:final`` so that a second final event (two
workers, a max-deliveries advisory handled by two replicas) is dropped.

A worker's stage uses :class:`JobProgress`::

    events = await JobEventLog.open(js)
    job = await events.last(order.job_id)               # the job as it is now
    async with JobProgress(events, job) as progress:
        await progress.check_cancel()                   # raises JobCancelled
        await progress.begin(JobStage.COMPUTING, "computing 1,200 formulas")
        for done in work():
            progress.report(fraction=done / total)      # cheap; any thread may call it
        ...
        await progress.advance(JobStage.WRITING_RESULTS, "results stored")
    # or: await progress.finish(JobState.FAILED, error=JobError(...))

``report`` only records; a ticker publishes what was recorded at most every
:data:`MIN_INTERVAL` and at least every :data:`MAX_INTERVAL` seconds while the
stage works, and checks the cancel request as often. ``JobProgress.cancelled``
is a ``threading.Event`` that code running in a thread can poll.

Cancellation: :meth:`JobEventLog.request_cancel` puts a key in the
``calcwire-job-cancel`` bucket; workers check it at stage boundaries and at
each progress report, roll back the stage, and publish the final CANCELLED
event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Final, Self

import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from nats.js.kv import KeyValue

from calcwire.errors import Unavailable
from calcwire.logs import get_logger
from calcwire.messaging import JOB_CANCEL_BUCKET, JOB_EVENTS_STREAM, job_events_subject

__all__ = [
    "FINAL_STATES",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "STAGE_PERCENT",
    "JobCancelled",
    "JobError",
    "JobEvent",
    "JobEventLog",
    "JobKind",
    "JobProgress",
    "JobStage",
    "JobState",
    "fold",
    "new_job",
    "stage_percent",
]

log = get_logger(__name__)

MIN_INTERVAL: Final = 0.1
"""Progress is published at most this often (seconds) ..."""
MAX_INTERVAL: Final = 0.5
"""... and at least this often while a stage works."""


class JobState(StrEnum):
    """The proto's JobState without its ``JOB_STATE_`` prefix."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


FINAL_STATES: Final = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class JobStage(StrEnum):
    """The proto's JobStage without its ``JOB_STAGE_`` prefix, in pipeline order."""

    UNSPECIFIED = "UNSPECIFIED"
    UPLOADING = "UPLOADING"
    STORING = "STORING"
    PARSING = "PARSING"
    WRITING_CELLS = "WRITING_CELLS"
    BUILDING_GRAPH = "BUILDING_GRAPH"
    COMPUTING = "COMPUTING"
    WRITING_RESULTS = "WRITING_RESULTS"
    VALIDATING = "VALIDATING"
    DONE = "DONE"


class JobKind(StrEnum):
    """The proto's JobKind without its ``JOB_KIND_`` prefix."""

    IMPORT = "IMPORT"
    EVALUATE = "EVALUATE"
    VALIDATE = "VALIDATE"


#: The share of a whole upload-to-validation job each stage covers, in percent.
STAGE_PERCENT: Final[Mapping[JobStage, tuple[float, float]]] = {
    JobStage.UNSPECIFIED: (0.0, 0.0),
    JobStage.UPLOADING: (0.0, 5.0),
    JobStage.STORING: (5.0, 10.0),
    JobStage.PARSING: (10.0, 40.0),
    JobStage.WRITING_CELLS: (40.0, 50.0),
    JobStage.BUILDING_GRAPH: (50.0, 60.0),
    JobStage.COMPUTING: (60.0, 80.0),
    JobStage.WRITING_RESULTS: (80.0, 85.0),
    JobStage.VALIDATING: (85.0, 100.0),
    JobStage.DONE: (100.0, 100.0),
}


def stage_percent(stage: JobStage, fraction: float) -> float:
    """Overall percent when ``stage`` is ``fraction`` (0..1) done."""
    low, high = STAGE_PERCENT[stage]
    return round(low + (high - low) * min(max(fraction, 0.0), 1.0), 2)


class JobCancelled(Exception):
    """Raised inside a stage when its job's cancellation was requested."""


@dataclass(frozen=True, slots=True)
class JobError:
    """Why a job failed: a machine-readable reason and a sentence for a person."""

    reason: str
    message: str


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One event: the job as it is after it (``time`` is when it happened)."""

    job_id: str
    tenant: str
    model_id: str
    kind: JobKind
    state: JobState
    stage: JobStage
    percent: float
    message: str
    create_time: datetime
    time: datetime
    error: JobError | None = None
    cancel_requested: bool = False

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def end_time(self) -> datetime | None:
        """When the job ended (the final event's time), None while it runs."""
        return self.time if self.final else None

    def next(self, **changes: Any) -> JobEvent:
        """The event that follows this one with ``changes``, timed now."""
        changes.setdefault("time", _now())
        return dataclasses.replace(self, **changes)

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "job_id": self.job_id,
            "tenant": self.tenant,
            "model_id": self.model_id,
            "kind": self.kind.value,
            "state": self.state.value,
            "stage": self.stage.value,
            "percent": self.percent,
            "message": self.message,
            "error": (
                {"reason": self.error.reason, "message": self.error.message}
                if self.error is not None
                else None
            ),
            "cancel_requested": self.cancel_requested,
            "create_time": self.create_time.isoformat(),
            "time": self.time.isoformat(),
        }
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> JobEvent:
        """Parse an event; raises ``ValueError`` on anything that is not one."""
        try:
            raw = json.loads(data)
            error = raw.get("error")
            return cls(
                job_id=str(raw["job_id"]),
                tenant=str(raw["tenant"]),
                model_id=str(raw["model_id"]),
                kind=JobKind(raw["kind"]),
                state=JobState(raw["state"]),
                stage=JobStage(raw["stage"]),
                percent=float(raw["percent"]),
                message=str(raw.get("message", "")),
                error=(
                    JobError(str(error["reason"]), str(error["message"]))
                    if error is not None
                    else None
                ),
                cancel_requested=bool(raw.get("cancel_requested", False)),
                create_time=datetime.fromisoformat(raw["create_time"]),
                time=datetime.fromisoformat(raw["time"]),
            )
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a job event: {exc}") from exc


def new_job(
    job_id: str,
    *,
    tenant: str,
    model_id: str,
    kind: JobKind,
    stage: JobStage = JobStage.UNSPECIFIED,
    message: str = "queued",
    create_time: datetime | None = None,
) -> JobEvent:
    """The creation event of a job (state QUEUED)."""
    created = create_time or _now()
    return JobEvent(
        job_id=job_id,
        tenant=tenant,
        model_id=model_id,
        kind=kind,
        state=JobState.QUEUED,
        stage=stage,
        percent=stage_percent(stage, 0.0),
        message=message,
        create_time=created,
        time=created,
    )


def fold(job: JobEvent | None, event: JobEvent) -> JobEvent:
    """The job after ``event``, given the job before it.

    A final job stays as it is; a cancel request, once made, stays made.
    """
    if job is None:
        return event
    if job.final:
        return job
    if job.cancel_requested and not event.cancel_requested:
        return dataclasses.replace(event, cancel_requested=True)
    return event


def _final_msg_id(job_id: str) -> str:
    return f"{job_id}:final"


class JobEventLog:
    """The job events stream and the cancel bucket, for one NATS connection."""

    def __init__(self, js: JetStreamContext, cancels: KeyValue) -> None:
        self._js = js
        self._cancels = cancels

    @classmethod
    async def open(cls, js: JetStreamContext) -> JobEventLog:
        """Bind to the stream and bucket that :func:`calcwire.messaging.ensure_topology` made."""
        return cls(js, await js.key_value(JOB_CANCEL_BUCKET))

    async def publish(self, event: JobEvent) -> int:
        """Append ``event`` to its job's history; returns its stream sequence.

        A final event is deduplicated per job, so only the first final event
        of a job is kept.
        """
        headers = {"Nats-Msg-Id": _final_msg_id(event.job_id)} if event.final else None
        ack = await self._js.publish(
            job_events_subject(event.job_id),
            event.to_json(),
            stream=JOB_EVENTS_STREAM,
            headers=headers,
        )
        return int(ack.seq)

    async def last(self, job_id: str) -> JobEvent | None:
        """The job's latest event (the job as it is), None when it has none."""
        try:
            msg = await self._js.get_last_msg(JOB_EVENTS_STREAM, job_events_subject(job_id))
        except nats.js.errors.NotFoundError:
            return None
        if not msg.data:
            return None
        try:
            return JobEvent.from_json(msg.data)
        except ValueError:
            log.warning("unreadable job event", job_id=job_id)
            return None

    async def request_cancel(self, job_id: str) -> None:
        """Record that the job should stop; its worker notices at its next check."""
        await self._cancels.put(job_id, b"1")

    async def cancel_requested(self, job_id: str) -> bool:
        try:
            entry = await self._cancels.get(job_id)
        except nats.js.errors.KeyNotFoundError:
            return False
        return entry.value == b"1"

    async def watch(
        self,
        job_id: str,
        *,
        after_sequence: int = 0,
        stopping: asyncio.Event | None = None,
        poll: float = 0.5,
    ) -> AsyncIterator[tuple[int, JobEvent, JobEvent]]:
        """The job's events from the start, then live, until one ends the job.

        Yields ``(sequence, event, job after the event)`` for each event after
        ``after_sequence``; ``sequence`` counts the job's events from 1, so it
        has no gaps. Raises :class:`~calcwire.errors.Unavailable` when
        ``stopping`` is set (the server is shutting down; watch again with the
        last sequence seen).
        """
        sub = await self._js.subscribe(
            job_events_subject(job_id),
            stream=JOB_EVENTS_STREAM,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        try:
            sequence = 0
            job: JobEvent | None = None
            while True:
                if stopping is not None and stopping.is_set():
                    raise Unavailable(
                        "the server is shutting down; watch again with after_sequence "
                        "set to the last sequence received",
                        reason="SHUTTING_DOWN",
                    )
                try:
                    msg = await sub.next_msg(timeout=poll)
                except TimeoutError:  # nats-py's own is a subclass
                    continue
                sequence += 1
                try:
                    event = JobEvent.from_json(msg.data)
                except ValueError:
                    log.warning("unreadable job event", job_id=job_id, sequence=sequence)
                    continue
                job = fold(job, event)
                if sequence > after_sequence:
                    yield sequence, event, job
                if job.final:
                    return
        finally:
            try:
                await sub.unsubscribe()
            except nats.errors.Error:
                pass


class JobProgress:
    """Progress reports of one stage of one job, published by a ticker.

    Use as an async context manager: the ticker runs inside the block.
    """

    def __init__(
        self,
        events: JobEventLog,
        job: JobEvent,
        *,
        min_interval: float = MIN_INTERVAL,
        max_interval: float = MAX_INTERVAL,
    ) -> None:
        self.events = events
        self.job = job
        """The job as last published."""
        self.cancelled = threading.Event()
        """Set once the job's cancellation was seen; threads may poll it."""
        self._min = min_interval
        self._max = max_interval
        self._lock = threading.Lock()
        self._publishing = asyncio.Lock()
        self._pending: dict[str, Any] = {}
        self._last_publish = 0.0
        self._last_cancel_check = 0.0
        self._ticker: asyncio.Task[None] | None = None
        self._ticking = False
        self._closed = False

    async def __aenter__(self) -> Self:
        self._ticking = True
        self._ticker = asyncio.create_task(self._tick(), name=f"progress {self.job.job_id}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop_ticker()

    async def _stop_ticker(self) -> None:
        """Stop the ticker and wait until it has stopped, however it takes the cancellation.

        On Python 3.11 ``asyncio.wait_for`` (which nats-py awaits replies with)
        can swallow a cancellation that arrives together with the reply
        (python/cpython#86296): a ticker that just cancelled then went on
        publishing for ever and ``await ticker`` never returned, wedging the
        worker after its last event. So the loop also stops on a flag, the
        cancellation is repeated until the task is done, and a cancellation of
        the caller itself is never mistaken for the ticker's.
        """
        ticker, self._ticker = self._ticker, None
        if ticker is None:
            return
        self._ticking = False
        while not ticker.done():
            ticker.cancel()
            await asyncio.wait({ticker}, timeout=self._min)
        if not ticker.cancelled() and ticker.exception() is not None:
            log.warning("progress ticker failed", error=repr(ticker.exception()))

    # ------------------------------------------------------------------ reporting

    def report(
        self,
        *,
        fraction: float | None = None,
        message: str | None = None,
    ) -> None:
        """Record progress of the current stage; the ticker publishes it. Thread-safe.

        The percentage never goes back within a stage, even when a step of the
        work reports a phase of its own from zero (what clients see only grows).
        """
        with self._lock:
            if fraction is not None:
                percent = stage_percent(self.job.stage, fraction)
                floor = max(self.job.percent, self._pending.get("percent", 0.0))
                self._pending["percent"] = max(percent, floor)
            if message is not None:
                self._pending["message"] = message

    async def begin(self, stage: JobStage, message: str, *, fraction: float = 0.0) -> None:
        """Enter ``stage`` (state RUNNING) and publish it at once."""
        await self._publish(
            state=JobState.RUNNING,
            stage=stage,
            percent=stage_percent(stage, fraction),
            message=message,
        )

    async def advance(self, stage: JobStage, message: str, *, fraction: float = 0.0) -> None:
        """:meth:`begin` for the next stage of the same job (a synonym that reads better)."""
        await self.begin(stage, message, fraction=fraction)

    async def finish(
        self,
        state: JobState,
        message: str,
        *,
        error: JobError | None = None,
    ) -> None:
        """Publish the job's final event; nothing is published after it."""
        assert state in FINAL_STATES
        await self._stop_ticker()
        stage = JobStage.DONE if state == JobState.SUCCEEDED else self.job.stage
        percent = 100.0 if state == JobState.SUCCEEDED else self.job.percent
        await self._publish(state=state, stage=stage, percent=percent, message=message,
                            error=error)
        self._closed = True

    async def hand_over(self, stage: JobStage, message: str, *, fraction: float = 1.0) -> None:
        """Publish this worker's last event of the job and stop the ticker, before the next
        stage is queued: so no event of this worker (a late report, a heartbeat) can come
        after the first event of the worker that takes the job next. Only :meth:`finish`
        may follow (when queueing the next stage fails for good)."""
        await self._stop_ticker()
        await self._publish(state=JobState.RUNNING, stage=stage,
                            percent=stage_percent(stage, fraction), message=message)

    async def check_cancel(self) -> None:
        """Raise :class:`JobCancelled` if the job's cancellation was requested (a stage boundary)."""
        if self.cancelled.is_set() or await self.events.cancel_requested(self.job.job_id):
            self.cancelled.set()
            raise JobCancelled(self.job.job_id)

    # ------------------------------------------------------------------ machinery

    async def _publish(self, **changes: Any) -> None:
        async with self._publishing:  # one at a time, so self.job is always the last one sent
            if self._closed:
                return
            with self._lock:
                self._pending.clear()
            if self.cancelled.is_set():
                changes["cancel_requested"] = True
            event = self.job.next(**changes)
            await self.events.publish(event)
            self.job = event
            self._last_publish = time.monotonic()

    async def _tick(self) -> None:
        step = self._min
        while self._ticking:
            await asyncio.sleep(step)
            if not self._ticking:
                return
            now = time.monotonic()
            if now - self._last_cancel_check >= self._max:
                self._last_cancel_check = now
                try:
                    if await self.events.cancel_requested(self.job.job_id):
                        self.cancelled.set()
                except nats.errors.Error as exc:
                    log.warning("cancel check failed", error=f"{type(exc).__name__}: {exc}")
            if not self._ticking:
                return
            with self._lock:
                pending = dict(self._pending)
            due = now - self._last_publish
            if (pending and due >= self._min) or due >= self._max:
                try:
                    await self._publish(**pending)
                except nats.errors.Error as exc:
                    log.warning("progress not published", error=f"{type(exc).__name__}: {exc}")
