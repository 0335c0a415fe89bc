"""import_svc's JetStream consumers: message <-> domain, ack / nak / progress.

- the import worker is :class:`calcwire.work.StageWorker` over the
  :class:`~import_svc.importer.Importer` (durable consumer ``import-worker``);
- the job-history projection: durable pull consumer ``job-history`` on every
  job's events, applied to PostgreSQL in batches;
- the retention sweep of job history.
"""

from __future__ import annotations

import asyncio
from typing import Final

import nats.errors
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from calcwire.job_events import JobEvent
from calcwire.logs import get_logger
from calcwire.messaging import (
    JOB_EVENTS_STREAM,
    ensure_consumer,
    job_events_subject,
)
from import_svc.jobs import Jobs

__all__ = [
    "HISTORY_CONSUMER",
    "ensure_history_consumer",
    "history_consumer_config",
    "run_projection",
    "run_retention",
]

log = get_logger(__name__)

HISTORY_CONSUMER: Final = "job-history"
RETENTION_INTERVAL: Final = 3600.0


def history_consumer_config(*, ack_wait: float) -> ConsumerConfig:
    return ConsumerConfig(
        name=HISTORY_CONSUMER,
        durable_name=HISTORY_CONSUMER,
        description="import_svc: job events into PostgreSQL",
        filter_subject=job_events_subject("*"),
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        max_ack_pending=10_000,
    )


async def ensure_history_consumer(js: JetStreamContext, *, ack_wait: float) -> None:
    await ensure_consumer(js, JOB_EVENTS_STREAM, history_consumer_config(ack_wait=ack_wait))


async def run_projection(
    js: JetStreamContext, jobs: Jobs, stopping: asyncio.Event, *, batch: int = 500
) -> None:
    """Apply job events to PostgreSQL until ``stopping``; a batch that fails is retried."""
    sub = await js.pull_subscribe_bind(durable=HISTORY_CONSUMER, stream=JOB_EVENTS_STREAM)
    try:
        while not stopping.is_set():
            try:
                messages = await sub.fetch(batch, timeout=0.5)
            except TimeoutError:  # nats-py raises its own or asyncio's, depending on the path
                continue
            except nats.errors.Error as exc:
                log.warning("job events fetch failed; retrying", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(1.0)
                continue
            events: list[tuple[int, JobEvent]] = []
            for msg in messages:
                try:
                    events.append((int(msg.metadata.sequence.stream), JobEvent.from_json(msg.data)))
                except ValueError as exc:
                    log.warning("unreadable job event skipped", error=str(exc))
            try:
                await jobs.project(events)
            except Exception:
                log.exception("job events not projected; they will be redelivered")
                await asyncio.sleep(1.0)
                continue
            for msg in messages:
                try:
                    await msg.ack()
                except nats.errors.Error:
                    pass  # redelivered and applied again: the projection is idempotent
    finally:
        try:
            await sub.unsubscribe()
        except nats.errors.Error:
            pass


async def run_retention(
    jobs: Jobs, retention_days: float, stopping: asyncio.Event,
    *, interval: float = RETENTION_INTERVAL,
) -> None:
    """Delete job history older than the retention at start-up, then every ``interval`` s."""
    while not stopping.is_set():
        try:
            await jobs.sweep(retention_days)
        except Exception:
            log.exception("job retention sweep failed")
        try:
            await asyncio.wait_for(stopping.wait(), timeout=interval)
        except TimeoutError:
            pass
