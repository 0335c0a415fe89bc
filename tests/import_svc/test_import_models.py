"""ListModels (newest first, filters, page tokens), DeleteModel, tenancy, names, health."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
import grpc.aio
import nats.js.errors
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from import_helpers import Client, refused, unique_workbook
from nats.js import JetStreamContext

from calcwire.devstack import LocalStack, health_status
from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2
from calcwire.messaging import WORKBOOKS_BUCKET
from calcwire.workbooks.v1 import workbooks_pb2

if TYPE_CHECKING:  # conftest is a module name several test directories share
    from conftest import ClientFactory

pytestmark = pytest.mark.stack

SERVICES = ("calcwire.workbooks.v1.WorkbookService", "calcwire.jobs.v1.JobService")


async def imported(client: Client, data: bytes, **kwargs: str) -> workbooks_pb2.Model:
    answer = await client.upload(data, **kwargs)  # type: ignore[arg-type]
    await client.wait_imported(answer.job.name)
    return answer.model


class TestListModels:
    async def test_newest_first_in_pages(self, client: Client) -> None:
        names = []
        for display in ("Alpha DCF", "Beta LBO", "Gamma dcf v2"):
            names.append((await imported(client, unique_workbook(), display_name=display)).name)
        first = await client.workbooks.ListModels(
            workbooks_pb2.ListModelsRequest(page_size=2), metadata=client.md)
        assert [m.name for m in first.models] == names[::-1][:2]
        assert first.next_page_token
        second = await client.workbooks.ListModels(
            workbooks_pb2.ListModelsRequest(page_size=2, page_token=first.next_page_token),
            metadata=client.md)
        assert [m.name for m in second.models] == names[:1]
        assert second.next_page_token == ""
        listed = first.models[0]
        assert listed.state == workbooks_pb2.MODEL_STATE_READY
        assert listed.cell_counts.total == 6 and listed.cell_counts.formulas == 3
        assert list(listed.sheets) == [] and list(listed.defined_names) == []
        assert listed.latest_job.model == listed.name

    async def test_filters(self, client: Client) -> None:
        for display in ("Alpha DCF", "Beta LBO", "Gamma dcf v2"):
            await imported(client, unique_workbook(), display_name=display)

        async def shown(text: str) -> list[str]:
            answer = await client.workbooks.ListModels(
                workbooks_pb2.ListModelsRequest(filter=text), metadata=client.md)
            return sorted(m.display_name for m in answer.models)

        assert await shown('display_name : "dcf"') == ["Alpha DCF", "Gamma dcf v2"]
        assert await shown('display_name = "Beta LBO"') == ["Beta LBO"]
        assert await shown('display_name : "DCF" AND display_name != "Alpha DCF"') == [
            "Gamma dcf v2"
        ]
        assert len(await shown("state = READY")) == 3
        assert await shown("state = FAILED") == []

    async def test_bad_filters_and_tokens(self, client: Client) -> None:
        error = await refused(client.workbooks.ListModels(
            workbooks_pb2.ListModelsRequest(filter="size > 3"), metadata=client.md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(error) == "INVALID_FILTER"
        error = await refused(client.workbooks.ListModels(
            workbooks_pb2.ListModelsRequest(page_token="not-a-token"), metadata=client.md))
        assert error_reason(error) == "INVALID_PAGE_TOKEN"
        for _ in range(2):
            await imported(client, unique_workbook())
        page = await client.workbooks.ListModels(
            workbooks_pb2.ListModelsRequest(page_size=1), metadata=client.md)
        error = await refused(client.workbooks.ListModels(
            workbooks_pb2.ListModelsRequest(page_size=1, page_token=page.next_page_token,
                                            filter="state = READY"), metadata=client.md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(error) == "INVALID_PAGE_TOKEN"
        error = await refused(client.workbooks.ListModels(
            workbooks_pb2.ListModelsRequest(page_size=-1), metadata=client.md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


class TestTenancy:
    async def test_another_tenants_model_and_job_do_not_exist(
        self, client: Client, make_client: ClientFactory
    ) -> None:
        answer = await client.upload(unique_workbook())
        await client.wait_imported(answer.job.name)
        other = await make_client()
        model, job = answer.model.name, answer.job.name
        calls = [
            other.workbooks.GetModel(workbooks_pb2.GetModelRequest(name=model), metadata=other.md),
            other.workbooks.DeleteModel(workbooks_pb2.DeleteModelRequest(name=model),
                                        metadata=other.md),
            other.workbooks.ListCells(workbooks_pb2.ListCellsRequest(parent=model),
                                      metadata=other.md),
        ]
        for call in calls:
            error = await refused(call)
            assert error.code() == grpc.StatusCode.NOT_FOUND
            assert error_reason(error) == "MODEL_NOT_FOUND"
        for call in (
            other.jobs.GetJob(jobs_pb2.GetJobRequest(name=job), metadata=other.md),
            other.jobs.CancelJob(jobs_pb2.CancelJobRequest(name=job), metadata=other.md),
        ):
            error = await refused(call)
            assert error.code() == grpc.StatusCode.NOT_FOUND
            assert error_reason(error) == "JOB_NOT_FOUND"
        watch = other.jobs.WatchJob(jobs_pb2.WatchJobRequest(name=job), metadata=other.md)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in watch:
                pass
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        listed = await other.workbooks.ListModels(workbooks_pb2.ListModelsRequest(),
                                                  metadata=other.md)
        assert listed.models == []
        jobs = await other.jobs.ListJobs(jobs_pb2.ListJobsRequest(), metadata=other.md)
        assert jobs.jobs == []
        # ... and they are still there for their owner.
        await client.workbooks.GetModel(workbooks_pb2.GetModelRequest(name=model),
                                        metadata=client.md)

    @pytest.mark.parametrize("name", ["", "models/42", "jobs/7", "models/x/y"])
    async def test_malformed_names(self, client: Client, name: str) -> None:
        error = await refused(client.workbooks.GetModel(workbooks_pb2.GetModelRequest(name=name),
                                                        metadata=client.md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(error) == "INVALID_NAME"

    async def test_unknown_model(self, client: Client) -> None:
        error = await refused(client.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name="models/0b9f1c1e-4a43-4b53-9a1e-3c2a6f1f0d11"),
            metadata=client.md))
        assert error.code() == grpc.StatusCode.NOT_FOUND


class TestDeleteModel:
    async def test_cells_and_file_go_with_the_last_model_using_them(
        self, client: Client, make_client: ClientFactory, jetstream: JetStreamContext
    ) -> None:
        data = unique_workbook()
        other = await make_client()
        mine = await imported(client, data)
        theirs = await imported(other, data)  # the same bytes, another tenant
        store = await jetstream.object_store(WORKBOOKS_BUCKET)

        await client.workbooks.DeleteModel(workbooks_pb2.DeleteModelRequest(name=mine.name),
                                           metadata=client.md)
        for call in (
            client.workbooks.GetModel(workbooks_pb2.GetModelRequest(name=mine.name),
                                      metadata=client.md),
            client.workbooks.ListCells(workbooks_pb2.ListCellsRequest(parent=mine.name),
                                       metadata=client.md),
            client.workbooks.DeleteModel(workbooks_pb2.DeleteModelRequest(name=mine.name),
                                         metadata=client.md),
        ):
            error = await refused(call)
            assert error.code() == grpc.StatusCode.NOT_FOUND
        assert (await store.get_info(mine.sha256)).size == len(data)  # still theirs
        cells = await other.all_cells(theirs.name)
        assert len(cells) == 6

        await other.workbooks.DeleteModel(workbooks_pb2.DeleteModelRequest(name=theirs.name),
                                          metadata=other.md)
        with pytest.raises(nats.js.errors.ObjectNotFoundError):
            await store.get_info(mine.sha256)

    async def test_deleting_a_model_being_imported(self, client: Client) -> None:
        answer = await client.upload(unique_workbook(rows=20_000))
        await client.workbooks.DeleteModel(
            workbooks_pb2.DeleteModelRequest(name=answer.model.name), metadata=client.md)
        events = await client.wait_imported(answer.job.name)
        # Stopped (cancelled, or failed finding its model gone); on a very fast worker the
        # import may also have finished just before the delete took the cells away.
        assert events[-1].state in (jobs_pb2.JOB_STATE_CANCELLED, jobs_pb2.JOB_STATE_FAILED) or (
            events[-1].stage == jobs_pb2.JOB_STAGE_WRITING_CELLS and events[-1].percent == 50
        )
        error = await refused(client.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name=answer.model.name), metadata=client.md))
        assert error.code() == grpc.StatusCode.NOT_FOUND


class TestServing:
    @pytest.mark.parametrize("service", SERVICES)
    async def test_health_and_reflection_cover_both_services(
        self, services: LocalStack, service: str
    ) -> None:
        target = services.endpoints["import_svc"]
        assert await health_status(target, service) == "SERVING"
        assert await health_status(services.endpoints["gateway"], service) == "SERVING"
        channel = grpc.insecure_channel(target)
        try:
            assert service in ProtoReflectionDescriptorDatabase(channel).get_services()
        finally:
            channel.close()

