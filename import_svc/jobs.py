"""Jobs: the domain behind JobService, the projection of job events, and retention.

A job's truth is its events on JetStream (:mod:`calcwire.job_events`); the
``jobs`` and ``job_events`` tables are their projection, kept by
:meth:`Jobs.project` from the durable consumer ``job-history``. Reads use the
projection, and fall back to the stream's last event for a job the projection
has not seen yet (one another service just created), so a job is never
NOT_FOUND right after its creation. Another tenant's job is NOT_FOUND, as one
that does not exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

from calcwire.errors import InvalidArgument, NotFound
from calcwire.filtering import Condition, Field, parse_filter
from calcwire.job_events import JobEvent, JobEventLog, JobKind, JobState
from calcwire.logs import get_logger
from calcwire.names import parse_model_name
from calcwire.paging import decode_time_position, filter_fingerprint, next_page, page_size
from import_svc.store import WorkbookStore

__all__ = ["JOB_FILTER_FIELDS", "Jobs", "current_job"]

log = get_logger(__name__)

JOB_FILTER_FIELDS = {
    "model": Field(ops="=!"),
    "state": Field(ops="=!", values=[s.value for s in JobState]),
    "kind": Field(ops="=!", values=[k.value for k in JobKind]),
}
JOBS_PAGE = (50, 1000)


def _not_found(job_id: str) -> NotFound:
    return NotFound(f"no job jobs/{job_id}", reason="JOB_NOT_FOUND")


class Jobs:
    def __init__(self, store: WorkbookStore, events: JobEventLog) -> None:
        self.store = store
        self.events = events

    async def get(self, tenant: str, job_id: str) -> JobEvent:
        """The job as it is now: its latest event (the projection may lag behind it)."""
        job = await self.store.get_job(tenant, job_id)
        current = await current_job(self.events, tenant, job_id, job)
        if current is None:
            raise _not_found(job_id)
        return current

    async def list_jobs(
        self, tenant: str, filter_text: str, size: int, token: str
    ) -> tuple[list[JobEvent], str]:
        conditions = [_job_condition(c) for c in parse_filter(filter_text, JOB_FILTER_FIELDS)]
        fingerprint = filter_fingerprint("jobs", conditions)
        after = decode_time_position(token, fingerprint)
        limit = page_size(size, default=JOBS_PAGE[0], maximum=JOBS_PAGE[1])
        jobs = await self.store.list_jobs(tenant, conditions, after, limit + 1)
        return next_page(jobs, limit, lambda j: [j.create_time.isoformat(), j.job_id],
                         fingerprint)

    async def cancel(self, tenant: str, job_id: str) -> JobEvent:
        """Ask the job to stop; a job that has ended is returned as it is."""
        job = await self.get(tenant, job_id)
        if job.final:
            return job
        await self.events.request_cancel(job_id)
        latest = await self.events.last(job_id) or job
        if latest.final:
            return latest
        requested = _sticky(job, latest).next(cancel_requested=True)
        await self.events.publish(requested)
        log.info("job cancellation requested", job_id=job_id)
        return requested

    async def watch(
        self, tenant: str, job_id: str, after_sequence: int, stopping: asyncio.Event
    ) -> AsyncIterator[tuple[int, JobEvent, JobEvent]]:
        """(sequence, event, job after it) from the start (or after ``after_sequence``),
        then live, until the job ends."""
        if after_sequence < 0:
            raise InvalidArgument("after_sequence must not be negative", reason="INVALID_ARGUMENT")
        job = await self.get(tenant, job_id)
        if await self.events.last(job_id) is None and job.final:
            # Its events are past the stream's retention; the projection still has the end.
            if after_sequence < 1:
                yield 1, job, job
            return
        async for item in self.events.watch(job_id, after_sequence=after_sequence,
                                             stopping=stopping):
            yield item

    # ------------------------------------------------------------------ projection

    async def project(self, events: Sequence[tuple[int, JobEvent]]) -> None:
        await self.store.apply_events(events)

    async def sweep(self, retention_days: float) -> None:
        """Delete job history older than the retention."""
        cutoff = datetime.now(UTC) - timedelta(days=retention_days)
        jobs, events = await self.store.delete_jobs_before(cutoff)
        if jobs or events:
            log.info("old job history deleted", jobs=jobs, events=events, before=cutoff.isoformat())


async def current_job(
    events: JobEventLog, tenant: str, job_id: str, projected: JobEvent | None
) -> JobEvent | None:
    """The job as its latest event says, else as the projection has it (which may lag
    behind the events by a batch: a client that saw the job end on WatchJob must not
    then read it as still running)."""
    latest = await events.last(job_id)
    if latest is None or latest.tenant != tenant:
        return projected
    current = _sticky(projected, latest)
    if (not current.final and not current.cancel_requested
            and await events.cancel_requested(job_id)):
        current = current.next(cancel_requested=True, time=current.time)
    return current


def _sticky(before: JobEvent | None, after: JobEvent) -> JobEvent:
    if before is not None and before.cancel_requested and not after.cancel_requested:
        return after.next(cancel_requested=True, time=after.time)
    return after


def _job_condition(cond: Condition) -> Condition:
    if cond.field == "model":
        try:
            model_id = parse_model_name(cond.value)
        except InvalidArgument:
            raise InvalidArgument(
                f'invalid filter: model must be "models/<id>", not {cond.value!r}',
                reason="INVALID_FILTER",
            ) from None
        return Condition("model_id", cond.op, model_id)
    return cond
