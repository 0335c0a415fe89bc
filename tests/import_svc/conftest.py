"""Fixtures of the import service's tests: clients per tenant, and one model of several MiB
uploaded once for the session (several tests read it)."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from functools import cache

import grpc.aio
import pytest
from import_helpers import Client, import_over, new_tenant, openpyxl_view

from calcwire.devstack import LocalStack
from calcwire.jobs.v1 import jobs_pb2
from calcwire.workbook.generate import generate_model
from calcwire.workbook.writer import write_workbook
from calcwire.workbooks.v1 import workbooks_pb2

BIG_MODEL_FORMULAS = 70_000


@pytest.fixture
def client(gateway_channel: grpc.aio.Channel) -> Client:
    """import_svc through the gateway, for a tenant of its own."""
    return Client(gateway_channel, new_tenant())


@pytest.fixture(scope="session")
async def direct_channel(services: LocalStack) -> grpc.aio.Channel:
    """A channel to import_svc itself (not through the gateway)."""
    async with grpc.aio.insecure_channel(services.endpoints["import_svc"]) as channel:
        yield channel


@cache
def big_workbook() -> bytes:
    """A generated financial model of several MiB (stored without compression)."""
    buffer = io.BytesIO()
    write_workbook(generate_model(BIG_MODEL_FORMULAS), buffer, compresslevel=0)
    return buffer.getvalue()


@dataclass
class BigUpload:
    data: bytes
    response: workbooks_pb2.UploadWorkbookResponse
    upload_seconds: float
    watched: list[tuple[float, jobs_pb2.WatchJobResponse]]
    """WatchJob from right after the upload until the cells were stored, with arrival times."""
    client: Client

    @property
    def model(self) -> str:
        return self.response.model.name

    @property
    def job(self) -> str:
        return self.response.job.name


@pytest.fixture(scope="session")
async def big_upload(gateway_channel: grpc.aio.Channel) -> BigUpload:
    client = Client(gateway_channel, new_tenant())
    data = big_workbook()
    started = time.monotonic()
    response = await client.upload(data, file_name="big model.xlsx", chunk=1024 * 1024)
    uploaded = time.monotonic() - started
    watched = await client.watch(response.job.name, import_over, timeout=120)
    return BigUpload(data, response, uploaded, watched, client)


@pytest.fixture(scope="session")
def big_view() -> dict[tuple[str, int, int], tuple[str, object]]:
    return openpyxl_view(big_workbook())
