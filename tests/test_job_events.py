"""Job events on real NATS JetStream: publishing, watching, progress, cancellation, work orders."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import nats.errors
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from tests_support import make_work_queue

from calcwire.errors import Unavailable
from calcwire.job_events import (
    JobCancelled,
    JobError,
    JobEvent,
    JobEventLog,
    JobKind,
    JobProgress,
    JobStage,
    JobState,
    fold,
    new_job,
    stage_percent,
)
from calcwire.messaging import JOB_CANCEL_BUCKET, WORK_STREAM, WORK_SUBJECTS, ensure_topology
from calcwire.names import new_id
from calcwire.work import MAX_DELIVERIES_REASON, WorkOrder, fail_exhausted_orders, publish_work

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
async def events(jetstream: JetStreamContext) -> AsyncIterator[JobEventLog]:
    await ensure_topology(jetstream)
    yield await JobEventLog.open(jetstream)


def a_job() -> JobEvent:
    return new_job(new_id(), tenant="tests", model_id=new_id(), kind=JobKind.IMPORT)


async def history(events: JobEventLog, job_id: str, *, after: int = 0) -> list[JobEvent]:
    out = []

    async def collect() -> None:
        async for _, event, _ in events.watch(job_id, after_sequence=after):
            out.append(event)

    try:
        await asyncio.wait_for(collect(), 2)
    except TimeoutError:
        pass
    return out


class TestEvents:
    def test_json_round_trip(self) -> None:
        job = a_job().next(state=JobState.FAILED, error=JobError("R", "m"), cancel_requested=True)
        assert JobEvent.from_json(job.to_json()) == job

    def test_not_an_event(self) -> None:
        with pytest.raises(ValueError):
            JobEvent.from_json(b'{"job_id": 1}')
        with pytest.raises(ValueError):
            JobEvent.from_json(b"[")

    def test_fold_keeps_cancel_requests_and_final_states(self) -> None:
        job = a_job()
        asked = job.next(cancel_requested=True)
        later = job.next(state=JobState.RUNNING)
        assert fold(asked, later).cancel_requested
        done = later.next(state=JobState.SUCCEEDED)
        assert fold(done, later.next(state=JobState.RUNNING)) is done

    def test_stage_percent(self) -> None:
        assert stage_percent(JobStage.PARSING, 0) == 10
        assert stage_percent(JobStage.PARSING, 1) == 40
        assert stage_percent(JobStage.PARSING, 7) == 40
        assert stage_percent(JobStage.VALIDATING, 1) == 100


class TestJobEventLog:
    async def test_last_is_the_latest_event(self, events: JobEventLog) -> None:
        job = a_job()
        assert await events.last(job.job_id) is None
        await events.publish(job)
        running = job.next(state=JobState.RUNNING, stage=JobStage.PARSING)
        await events.publish(running)
        assert await events.last(job.job_id) == running

    async def test_only_the_first_final_event_is_kept(self, events: JobEventLog) -> None:
        job = a_job()
        await events.publish(job)
        failed = job.next(state=JobState.FAILED, error=JobError("FIRST", "first"))
        await events.publish(failed)
        await events.publish(job.next(state=JobState.CANCELLED))
        assert await events.last(job.job_id) == failed

    async def test_watch_replays_then_follows_live_until_the_end(self, events: JobEventLog) -> None:
        job = a_job()
        await events.publish(job)
        await events.publish(job.next(state=JobState.RUNNING))
        seen: list[tuple[int, JobState, float]] = []

        async def watch() -> None:
            async for seq, event, after in events.watch(job.job_id):
                seen.append((seq, after.state, time.monotonic()))

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.5)
        assert [s[:2] for s in seen] == [(1, JobState.QUEUED), (2, JobState.RUNNING)]
        await events.publish(job.next(state=JobState.SUCCEEDED))
        await asyncio.wait_for(watcher, 5)
        assert [s[:2] for s in seen][-1] == (3, JobState.SUCCEEDED)
        assert seen[2][2] - seen[1][2] > 0.4  # the last one came live

    async def test_watch_after_a_sequence(self, events: JobEventLog) -> None:
        job = a_job()
        for state in (JobState.QUEUED, JobState.RUNNING, JobState.RUNNING, JobState.FAILED):
            await events.publish(job.next(state=state))
        replay = await history(events, job.job_id, after=2)
        assert [e.state for e in replay] == [JobState.RUNNING, JobState.FAILED]

    async def test_watch_ends_when_the_server_stops(self, events: JobEventLog) -> None:
        job = a_job()
        await events.publish(job)
        stopping = asyncio.Event()

        async def watch() -> None:
            async for _ in events.watch(job.job_id, stopping=stopping):
                pass

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.2)
        stopping.set()
        with pytest.raises(Unavailable):
            await asyncio.wait_for(watcher, 3)

    async def test_cancel_requests(self, events: JobEventLog) -> None:
        job = a_job()
        assert not await events.cancel_requested(job.job_id)
        await events.request_cancel(job.job_id)
        assert await events.cancel_requested(job.job_id)


class TestJobProgress:
    async def test_throttled_and_at_least_every_half_second(self, events: JobEventLog) -> None:
        job = a_job()
        await events.publish(job)
        async with JobProgress(events, job) as progress:
            await progress.begin(JobStage.PARSING, "parsing")
            for i in range(200):  # 2 s of busy reports, every 10 ms
                progress.report(fraction=i / 200, message=f"row {i}")
                await asyncio.sleep(0.01)
            await asyncio.sleep(1.2)  # working without reporting
            await progress.finish(JobState.SUCCEEDED, "done")
        replay = await history(events, job.job_id)
        times = [e.time.timestamp() for e in replay[1:]]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert max(gaps) < 0.65, gaps
        assert min(gaps[:-1]) >= 0.09, gaps  # the final event is not throttled
        assert len(replay) < 2 + 3.2 / 0.1
        assert replay[-1].state == JobState.SUCCEEDED and replay[-1].percent == 100
        messages = [e.message for e in replay]
        assert any(m.startswith("row ") for m in messages)
        percents = [e.percent for e in replay if e.stage == JobStage.PARSING]
        assert percents == sorted(percents) and percents[-1] > 30

    async def test_hand_over_when_the_ticker_swallows_its_cancellation(
        self, jetstream: JetStreamContext, events: JobEventLog
    ) -> None:
        """Python 3.11's wait_for (inside nats-py) can drop a cancellation that comes with
        the reply (python/cpython#86296); the worker must still hand over, and no
        progress event may follow the hand-over."""
        in_check = asyncio.Event()

        class SwallowingLog(JobEventLog):
            async def cancel_requested(self, job_id: str) -> bool:
                in_check.set()
                requested = super().cancel_requested(job_id)
                try:
                    await asyncio.sleep(0.05)
                except asyncio.CancelledError:
                    pass  # what wait_for does when the reply wins the race
                return await requested

        swallowing = SwallowingLog(jetstream, await jetstream.key_value(JOB_CANCEL_BUCKET))
        job = a_job()
        await events.publish(job)
        async with JobProgress(swallowing, job) as progress:
            await progress.begin(JobStage.COMPUTING, "computing")
            in_check.clear()
            await asyncio.wait_for(in_check.wait(), 3)  # the ticker is inside the check now
            started = time.monotonic()
            await asyncio.wait_for(progress.hand_over(JobStage.WRITING_RESULTS, "handed over"), 3)
            assert time.monotonic() - started < 1.0
            await asyncio.sleep(1.2)  # a ticker still alive would publish within 0.5 s
        replay = await history(events, job.job_id)
        messages = [e.message for e in replay]
        assert messages[-1] == "handed over" and messages.count("handed over") == 1, messages

    async def test_the_percentage_never_goes_back_within_a_stage(
        self, events: JobEventLog
    ) -> None:
        job = a_job()
        await events.publish(job)
        async with JobProgress(events, job) as progress:
            await progress.begin(JobStage.COMPUTING, "computing")
            for fraction in (0.5, 0.2, 0.0, 0.7):  # a second phase that counts from zero
                progress.report(fraction=fraction, message=f"at {fraction}")
                await asyncio.sleep(0.15)
            await progress.advance(JobStage.WRITING_RESULTS, "writing")
            await progress.finish(JobState.SUCCEEDED, "done")
        replay = await history(events, job.job_id)
        percents = [e.percent for e in replay]
        assert percents == sorted(percents), percents
        computing = [e.percent for e in replay if e.stage == JobStage.COMPUTING]
        assert computing[-1] == stage_percent(JobStage.COMPUTING, 0.7)
        assert stage_percent(JobStage.COMPUTING, 0.5) in computing

    async def test_cancellation_is_seen_at_a_progress_report(self, events: JobEventLog) -> None:
        job = a_job()
        await events.publish(job)
        async with JobProgress(events, job) as progress:
            await progress.begin(JobStage.COMPUTING, "computing")
            await events.request_cancel(job.job_id)
            started = time.monotonic()
            while not progress.cancelled.is_set():  # what a worker thread polls
                assert time.monotonic() - started < 2
                await asyncio.sleep(0.02)
            with pytest.raises(JobCancelled):
                await progress.check_cancel()
            await progress.finish(JobState.CANCELLED, "cancelled")
            progress.report(fraction=1.0)
            await asyncio.sleep(0.6)
        replay = await history(events, job.job_id)
        assert replay[-1].state == JobState.CANCELLED
        assert replay[-1].cancel_requested


class TestWorkOrders:
    def test_json_round_trip(self) -> None:
        order = WorkOrder(new_id(), "t", new_id(), JobKind.EVALUATE, {"validate": False})
        assert WorkOrder.from_json(order.to_json()) == order
        with pytest.raises(ValueError):
            WorkOrder.from_json(b'{"job_id": "x"}')

    async def test_the_same_order_twice_is_queued_once(self, jetstream: JetStreamContext) -> None:
        await ensure_topology(jetstream)
        subject = WORK_SUBJECTS["validate"]

        async def count() -> int:
            # Messages ever stored (a running validation worker may take them off at once).
            info = await jetstream.stream_info(WORK_STREAM)
            return int(info.state.last_seq)

        before = await count()
        order = WorkOrder(new_id(), "tests", new_id(), JobKind.VALIDATE)
        await publish_work(jetstream, "validate", order)
        await publish_work(jetstream, "validate", order)
        assert await count() == before + 1
        other = WorkOrder(new_id(), "tests", new_id(), JobKind.VALIDATE)
        await publish_work(jetstream, "validate", other)
        assert await count() == before + 2
        assert subject == "calcwire.work.validate"

    async def test_an_order_that_keeps_failing_fails_its_job(
        self, nats_client: NATS, jetstream: JetStreamContext, events: JobEventLog
    ) -> None:
        stream = await make_work_queue(jetstream, "EXHAUST")
        job = a_job()
        await events.publish(job)
        recorded: list[str] = []

        async def on_failed(order: WorkOrder, error: JobError) -> None:
            recorded.append(error.reason)

        stopping = asyncio.Event()
        listener = asyncio.create_task(fail_exhausted_orders(
            nats_client, jetstream, "validate", stopping, on_failed=on_failed,
            stream=stream, consumer="w"))
        await asyncio.sleep(0.2)
        order = WorkOrder(job.job_id, job.tenant, job.model_id, job.kind)
        await jetstream.publish(f"{stream}.x", order.to_json())
        sub = await jetstream.pull_subscribe_bind(durable="w", stream=stream)
        for _ in range(5):
            (msg,) = await sub.fetch(1, timeout=5)
            await msg.nak()
        with pytest.raises(nats.errors.TimeoutError):  # a 6th try is what JetStream gives up on
            await sub.fetch(1, timeout=0.5)
        deadline = time.monotonic() + 5
        while (last := await events.last(job.job_id)) is not None and not last.final:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        stopping.set()
        await listener
        assert last is not None and last.state == JobState.FAILED
        assert last.error is not None and last.error.reason == MAX_DELIVERIES_REASON
        assert recorded == [MAX_DELIVERIES_REASON]
        info = await jetstream.stream_info(stream)
        assert info.state.messages == 0  # the exhausted order left the queue
        await jetstream.delete_stream(stream)
