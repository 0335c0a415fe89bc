"""Fixtures of the import service's tests: clients per tenant, and one model of several MiB
uploaded once for the session (several tests read it)."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import cache

import grpc.aio
import pytest
from import_helpers import Client, import_over, new_tenant, openpyxl_view
from tests_support import bearer

from calcwire.devstack import LocalStack
from calcwire.jobs.v1 import jobs_pb2
from calcwire.workbook.generate import generate_model
from calcwire.workbook.writer import write_workbook
from calcwire.workbooks.v1 import workbooks_pb2

BIG_MODEL_FORMULAS = 70_000


ClientFactory = Callable[..., Awaitable[Client]]


@pytest.fixture(scope="session")
def make_client(
    gateway_channel: grpc.aio.Channel, issue_key: Callable[..., Awaitable[str]]
) -> ClientFactory:
    """``await make_client(tenant=None)``: a client through the gateway with a new API key
    of ``tenant`` (a new tenant when None)."""

    async def make(tenant: str | None = None) -> Client:
        tenant = tenant or new_tenant()
        return Client(gateway_channel, tenant, bearer(await issue_key(tenant)))

    return make


@pytest.fixture
async def client(make_client: ClientFactory) -> Client:
    """import_svc through the gateway, for a tenant of its own."""
    return await make_client()


@pytest.fixture(scope="session")
async def direct_channel(services: LocalStack) -> AsyncIterator[grpc.aio.Channel]:
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
async def big_upload(make_client: ClientFactory) -> BigUpload:
    client = await make_client()
    data = big_workbook()
    started = time.monotonic()
    response = await client.upload(data, file_name="big model.xlsx", chunk=1024 * 1024)
    uploaded = time.monotonic() - started
    watched = await client.watch(response.job.name, import_over, timeout=120)
    return BigUpload(data, response, uploaded, watched, client)


@pytest.fixture(scope="session")
def big_view() -> dict[tuple[str, int, int], tuple[str, object]]:
    return openpyxl_view(big_workbook())


@pytest.fixture
async def big_client(big_upload: BigUpload, make_client: ClientFactory) -> Client:
    """The big model's tenant with a key of the test's own (rate limits are per key)."""
    return await make_client(big_upload.client.tenant)
