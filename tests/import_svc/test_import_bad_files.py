"""Must show: each kind of bad file is refused with its status and reason, and the service
still takes good uploads afterwards; a file that passes the checks but cannot be parsed fails
its job (no half model), and WatchJob after the end replays it to the final state."""

from __future__ import annotations

import asyncio
import io
import os
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator

import grpc
import grpc.aio
import pytest
from import_helpers import Client, internal_metadata, refused, unique_workbook
from tests_support import TEST_MAX_UPLOAD_BYTES

from calcwire.devstack import LocalStack
from calcwire.grpc_errors import error_reason
from calcwire.jobs.v1 import jobs_pb2
from calcwire.testing.badfiles import BAD_FILES, small_workbook
from calcwire.workbooks.v1 import workbooks_pb2, workbooks_pb2_grpc

pytestmark = pytest.mark.stack

MIB = 1024 * 1024


SLOW = 3.0


async def slow_chunks(
    meta: workbooks_pb2.UploadMetadata, data: bytes
) -> AsyncIterator[workbooks_pb2.UploadWorkbookRequest]:
    """The metadata at once, the bytes only after SLOW seconds."""
    yield workbooks_pb2.UploadWorkbookRequest(metadata=meta)
    await asyncio.sleep(SLOW)
    yield workbooks_pb2.UploadWorkbookRequest(chunk=data)


async def still_serves(client: Client) -> None:
    answer = await client.upload(unique_workbook())
    events = await client.wait_imported(answer.job.name)
    assert events[-1].state == jobs_pb2.JOB_STATE_RUNNING, events[-1]
    assert events[-1].stage == jobs_pb2.JOB_STAGE_WRITING_CELLS


def malformed_sheet() -> bytes:
    """Passes the screening (a workbook package, no DTD) but its sheet XML is cut short."""
    source = zipfile.ZipFile(io.BytesIO(small_workbook()))
    buffer = io.BytesIO()
    with source, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data[: data.index(b"</row>")]
            out.writestr(info.filename, data)
    return buffer.getvalue()


class TestBadFiles:
    @pytest.mark.parametrize("kind", sorted(BAD_FILES))
    async def test_refused_with_its_reason(self, client: Client, kind: str) -> None:
        make, reason = BAD_FILES[kind]
        error = await refused(client.upload(make()))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
        assert error_reason(error) == reason
        assert error.details() and "Traceback" not in error.details()
        listed = await client.workbooks.ListModels(workbooks_pb2.ListModelsRequest(),
                                                   metadata=client.md)
        assert listed.models == []  # nothing was recorded
        await still_serves(client)

    async def test_over_the_size_limit_is_refused_as_the_bytes_arrive(
        self, client: Client, services: LocalStack, internal_secret: str
    ) -> None:
        # The synchronous client, straight to import_svc: grpcio's asyncio client (the test's,
        # and the gateway's forwarding) may report INTERNAL instead of the server's status when
        # the server ends a client stream early (grpc/grpc#36066).
        sent = 0
        total_chunks = 8 * TEST_MAX_UPLOAD_BYTES // MIB
        block = os.urandom(MIB)

        def requests() -> Iterator[workbooks_pb2.UploadWorkbookRequest]:
            nonlocal sent
            yield workbooks_pb2.UploadWorkbookRequest(
                metadata=workbooks_pb2.UploadMetadata(file_name="huge.xlsx",
                                                      request_id=str(uuid.uuid4())))
            for _ in range(total_chunks):
                sent += 1
                yield workbooks_pb2.UploadWorkbookRequest(chunk=block)

        def upload() -> grpc.RpcError:
            with grpc.insecure_channel(services.endpoints["import_svc"]) as channel:
                stub = workbooks_pb2_grpc.WorkbookServiceStub(channel)
                with pytest.raises(grpc.RpcError) as caught:
                    stub.UploadWorkbook(requests(), timeout=60,
                                        metadata=internal_metadata(internal_secret, client.tenant))
                return caught.value

        error = await asyncio.to_thread(upload)
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
        assert error_reason(error) == "FILE_TOO_LARGE"
        assert "MiB" in (error.details() or "")
        # Refused once the limit was passed, long before the client finished sending.
        assert sent < total_chunks / 2, sent
        await still_serves(client)

    async def test_over_the_size_limit_through_the_gateway_keeps_its_reason(
        self, client: Client, services: LocalStack
    ) -> None:
        # The backend ends the upload while the client is still sending; the gateway must
        # relay FILE_TOO_LARGE every time, not INTERNAL (grpcio's asyncio client loses such
        # a status: grpc/grpc#36066; the gateway forwards client streams with the blocking
        # client, and so does this test, as calcwire's command line does).
        block = os.urandom(MIB)
        total_chunks = 3 * TEST_MAX_UPLOAD_BYTES // MIB

        def requests() -> Iterator[workbooks_pb2.UploadWorkbookRequest]:
            yield workbooks_pb2.UploadWorkbookRequest(
                metadata=workbooks_pb2.UploadMetadata(file_name="huge.xlsx",
                                                      request_id=str(uuid.uuid4())))
            for _ in range(total_chunks):
                yield workbooks_pb2.UploadWorkbookRequest(chunk=block)

        def upload_many() -> list[grpc.RpcError]:
            errors = []
            with grpc.insecure_channel(services.endpoints["gateway"]) as channel:
                stub = workbooks_pb2_grpc.WorkbookServiceStub(channel)
                for _ in range(12):
                    with pytest.raises(grpc.RpcError) as caught:
                        stub.UploadWorkbook(requests(), timeout=60, metadata=client.md)
                    errors.append(caught.value)
            return errors

        for attempt, error in enumerate(await asyncio.to_thread(upload_many)):
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, (attempt, error)
            assert error_reason(error) == "FILE_TOO_LARGE", (attempt, error)
        await still_serves(client)

    async def test_an_announced_size_over_the_limit_is_refused_before_any_byte(
        self, client: Client
    ) -> None:
        meta = workbooks_pb2.UploadMetadata(file_name="big.xlsx",
                                            expected_size_bytes=TEST_MAX_UPLOAD_BYTES + 1)
        started = time.monotonic()
        error = await refused(client.workbooks.UploadWorkbook(
            slow_chunks(meta, small_workbook()), metadata=client.md))
        assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert error_reason(error) == "FILE_TOO_LARGE"
        assert time.monotonic() - started < SLOW / 2  # the answer did not wait for the bytes

    async def test_an_upload_shorter_than_announced_is_refused(self, client: Client) -> None:
        # A cancelled upload reaches the service as a stream that simply ends (grpcio's
        # asyncio server): the announced size tells it apart from a complete one.
        data = small_workbook()
        error = await refused(client.upload(data[: len(data) // 2], expected_size=len(data)))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(error) == "INCOMPLETE_UPLOAD"
        answer = await client.upload(data, expected_size=len(data))  # the whole file is fine
        assert answer.model.size_bytes == len(data)

    async def test_the_first_message_must_be_the_metadata(self, client: Client) -> None:
        async def chunk_first() -> AsyncIterator[workbooks_pb2.UploadWorkbookRequest]:
            yield workbooks_pb2.UploadWorkbookRequest(chunk=small_workbook())

        async def nothing() -> AsyncIterator[workbooks_pb2.UploadWorkbookRequest]:
            return
            yield  # an empty stream

        for requests in (chunk_first(), nothing()):
            error = await refused(client.workbooks.UploadWorkbook(requests, metadata=client.md))
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert error_reason(error) == "MISSING_METADATA"

    async def test_metadata_only_once(self, client: Client) -> None:
        async def twice() -> AsyncIterator[workbooks_pb2.UploadWorkbookRequest]:
            meta = workbooks_pb2.UploadMetadata(file_name="a.xlsx")
            yield workbooks_pb2.UploadWorkbookRequest(metadata=meta)
            yield workbooks_pb2.UploadWorkbookRequest(chunk=small_workbook())
            yield workbooks_pb2.UploadWorkbookRequest(metadata=meta)

        error = await refused(client.workbooks.UploadWorkbook(twice(), metadata=client.md))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert error_reason(error) == "DUPLICATE_METADATA"


class TestUnparsableWorkbook:
    async def test_fails_its_job_and_leaves_no_cells(self, client: Client) -> None:
        answer = await client.upload(malformed_sheet())  # accepted: it passes the screening
        events = await client.wait_imported(answer.job.name)
        final = events[-1]
        assert final.state == jobs_pb2.JOB_STATE_FAILED
        assert final.error.reason == "WORKBOOK_PARSE_FAILED"
        assert "MALFORMED_XML" in final.error.message
        model = (await client.workbooks.GetModel(
            workbooks_pb2.GetModelRequest(name=answer.model.name), metadata=client.md)).model
        assert model.state == workbooks_pb2.MODEL_STATE_FAILED
        assert model.cell_counts.total == 0 and list(model.sheets) == []
        error = await refused(client.workbooks.ListCells(
            workbooks_pb2.ListCellsRequest(parent=answer.model.name), metadata=client.md))
        assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert error_reason(error) == "MODEL_NOT_READY"

        # A watcher that comes after the end gets the whole history, ending in FAILED.
        replay = await client.watch(answer.job.name, lambda m: False, timeout=10)
        assert [m.event for _, m in replay] == events
        assert replay[-1][1].job.state == jobs_pb2.JOB_STATE_FAILED
        assert replay[-1][1].job.HasField("end_time")
        job = (await client.jobs.GetJob(jobs_pb2.GetJobRequest(name=answer.job.name),
                                        metadata=client.md)).job
        assert job.state == jobs_pb2.JOB_STATE_FAILED
        assert job.error.reason == "WORKBOOK_PARSE_FAILED"
        await still_serves(client)
