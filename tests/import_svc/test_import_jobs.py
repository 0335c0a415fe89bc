"""JobService: GetJob, ListJobs (filters, pages), CancelJob mid-parse ending CANCELLED with
WatchJob following to the end, the PostgreSQL projection, and retention."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import asyncpg
import grpc
import grpc.aio
import pytest
from import_helpers import FINAL, Client, refused, unique_workbook, wait_for
from nats.js import JetStreamContext

from calcwire.grpc_errors import error_reason
from calcwire.job_events import JobEventLog, JobKind, JobState, new_job
from calcwire.jobs.v1 import jobs_pb2
from calcwire.workbooks.v1 import workbooks_pb2
from import_svc.jobs import Jobs
from import_svc.store import WorkbookStore

if TYPE_CHECKING:  # conftest is a module name several test directories share
    from conftest import BigUpload

pytestmark = pytest.mark.stack


class TestGetAndList:
    async def test_get_job(self, big_upload: BigUpload, big_client: Client) -> None:
        job = (await big_client.jobs.GetJob(jobs_pb2.GetJobRequest(name=big_upload.job),
                                                   metadata=big_client.md)).job
        assert job.name == big_upload.job and job.model == big_upload.model
        assert job.kind == jobs_pb2.JOB_KIND_IMPORT
        assert job.create_time.ToDatetime() <= job.update_time.ToDatetime()
        # Import, evaluation and validation take the job to its end.
        await big_client.watch(big_upload.job, lambda m: m.job.state in FINAL, timeout=180)

        async def ended() -> jobs_pb2.Job | None:
            done = (await big_client.jobs.GetJob(jobs_pb2.GetJobRequest(name=big_upload.job),
                                                 metadata=big_client.md)).job
            return done if done.state in FINAL else None

        done = await wait_for(ended)
        assert done.state == jobs_pb2.JOB_STATE_SUCCEEDED and done.stage == jobs_pb2.JOB_STAGE_DONE
        assert done.HasField("end_time")

    async def test_list_jobs_with_filters_and_pages(self, client: Client) -> None:
        answers = [await client.upload(unique_workbook()) for _ in range(3)]
        for answer in answers:  # the pipeline takes each job on to its end: wait for it
            await client.watch(answer.job.name, lambda m: m.event.state in FINAL, timeout=90)

        async def listed(text: str = "", size: int = 0, token: str = "") -> jobs_pb2.ListJobsResponse:
            response: jobs_pb2.ListJobsResponse = await client.jobs.ListJobs(
                jobs_pb2.ListJobsRequest(filter=text, page_size=size, page_token=token),
                metadata=client.md)
            return response

        async def all_projected() -> bool:
            return len((await listed("state = SUCCEEDED")).jobs) == 3

        await wait_for(all_projected)
        newest_first = [a.job.name for a in reversed(answers)]
        assert [j.name for j in (await listed()).jobs] == newest_first
        first = await listed(size=2)
        rest = await listed(size=2, token=first.next_page_token)
        assert [j.name for j in [*first.jobs, *rest.jobs]] == newest_first
        assert rest.next_page_token == ""
        one = await listed(f'model = "{answers[1].model.name}"')
        assert [j.name for j in one.jobs] == [answers[1].job.name]
        assert len((await listed("kind = IMPORT AND state != FAILED")).jobs) == 3
        assert (await listed("kind = EVALUATE")).jobs == []
        for bad in ('model = "nope"', "state = DONE", "colour = RED"):
            error = await refused(listed(bad))
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error_reason(error) == "INVALID_FILTER", bad
        error = await refused(listed("kind = IMPORT", token=first.next_page_token))
        assert error_reason(error) == "INVALID_PAGE_TOKEN"

    async def test_unknown_and_malformed_jobs(self, client: Client) -> None:
        error = await refused(client.jobs.GetJob(
            jobs_pb2.GetJobRequest(name=f"jobs/{uuid.uuid4()}"), metadata=client.md))
        assert error.code() == grpc.StatusCode.NOT_FOUND and error_reason(error) == "JOB_NOT_FOUND"
        error = await refused(client.jobs.GetJob(jobs_pb2.GetJobRequest(name="jobs/../x"),
                                                 metadata=client.md))
        assert error_reason(error) == "INVALID_NAME"

    async def test_a_job_known_only_by_its_events_is_found(
        self, client: Client, jetstream: JetStreamContext
    ) -> None:
        """A job another service just created (no row yet) is served from its last event."""
        events = await JobEventLog.open(jetstream)
        job = new_job(str(uuid.uuid4()), tenant=client.tenant, model_id=str(uuid.uuid4()),
                      kind=JobKind.EVALUATE)
        await events.publish(job)
        got = (await client.jobs.GetJob(jobs_pb2.GetJobRequest(name=f"jobs/{job.job_id}"),
                                        metadata=client.md)).job
        assert got.kind == jobs_pb2.JOB_KIND_EVALUATE and got.state == jobs_pb2.JOB_STATE_QUEUED
        await events.publish(job.next(state=JobState.FAILED))


class TestCancel:
    async def test_cancel_during_the_import(self, client: Client) -> None:
        answer = await client.upload(unique_workbook(rows=60_000))
        cancelled = (await client.jobs.CancelJob(jobs_pb2.CancelJobRequest(name=answer.job.name),
                                                 metadata=client.md)).job
        assert cancelled.cancel_requested
        assert cancelled.state in (jobs_pb2.JOB_STATE_QUEUED, jobs_pb2.JOB_STATE_RUNNING)

        events = await client.wait_imported(answer.job.name)
        assert events[-1].state == jobs_pb2.JOB_STATE_CANCELLED
        assert not any(e.stage == jobs_pb2.JOB_STAGE_WRITING_CELLS and e.percent == 50
                       for e in events)  # it never got to hand over to evaluation
        model = (await client.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name=answer.model.name), metadata=client.md)).model
        assert model.state == workbooks_pb2.MODEL_STATE_FAILED
        assert model.cell_counts.total == 0

        # Late watchers get everything, ending with the final state.
        replay = await client.watch(answer.job.name, lambda m: False, timeout=10)
        assert [m.event for _, m in replay] == events
        final = replay[-1][1].job
        assert final.state == jobs_pb2.JOB_STATE_CANCELLED and final.cancel_requested
        assert final.HasField("end_time")
        # Cancelling an ended job gives it back as it is.
        again = (await client.jobs.CancelJob(jobs_pb2.CancelJobRequest(name=answer.job.name),
                                             metadata=client.md)).job
        assert again.state == jobs_pb2.JOB_STATE_CANCELLED and again.end_time == final.end_time

        async def projected() -> bool:
            jobs = await client.jobs.ListJobs(jobs_pb2.ListJobsRequest(filter="state = CANCELLED"),
                                              metadata=client.md)
            return [j.name for j in jobs.jobs] == [answer.job.name]

        await wait_for(projected)


class TestRetention:
    async def test_old_job_history_is_deleted(
        self, big_upload: BigUpload, db_pool: asyncpg.Pool, jetstream: JetStreamContext
    ) -> None:
        store = WorkbookStore(db_pool)
        jobs = Jobs(store, await JobEventLog.open(jetstream))
        tenant = f"retention-{uuid.uuid4().hex[:6]}"
        long_ago = datetime.now(UTC) - timedelta(days=40)
        old = new_job(str(uuid.uuid4()), tenant=tenant, model_id=str(uuid.uuid4()),
                      kind=JobKind.IMPORT, create_time=long_ago)
        recent = new_job(str(uuid.uuid4()), tenant=tenant, model_id=str(uuid.uuid4()),
                         kind=JobKind.IMPORT)
        await store.apply_events([(1, old), (2, recent)])
        assert await store.get_job(tenant, old.job_id) is not None
        await jobs.sweep(30)
        assert await store.get_job(tenant, old.job_id) is None
        assert await store.get_job(tenant, recent.job_id) is not None
        left = await db_pool.fetchval(
            "SELECT count(*) FROM workbooks.job_events WHERE tenant_id = $1", tenant)
        assert left == 1
