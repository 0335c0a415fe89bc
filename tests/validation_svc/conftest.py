"""Fixtures of the validation service's tests: clients per tenant through the gateway, a
client straight to validation_svc with the internal secret, and a stale model uploaded once
and followed through import, evaluation and validation."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc.aio
import pytest

# import_svc's test helpers (upload, watch, cells) are this suite's too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "import_svc"))

from import_helpers import internal_metadata, new_tenant
from tests_support import bearer
from validation_helpers import StaleModel, ValidationClient, stale_model

from calcwire.devstack import LocalStack
from calcwire.jobs.v1 import jobs_pb2
from calcwire.workbooks.v1 import workbooks_pb2

ValidationClientFactory = Callable[..., Awaitable[ValidationClient]]


@pytest.fixture(scope="session")
def make_validation_client(
    gateway_channel: grpc.aio.Channel, issue_key: Callable[..., Awaitable[str]]
) -> ValidationClientFactory:
    async def make(tenant: str | None = None) -> ValidationClient:
        tenant = tenant or new_tenant()
        return ValidationClient(gateway_channel, tenant, bearer(await issue_key(tenant)))

    return make


@pytest.fixture
async def client(make_validation_client: ValidationClientFactory) -> ValidationClient:
    return await make_validation_client()


@pytest.fixture(scope="session")
async def validation_channel(services: LocalStack) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(services.endpoints["validation_svc"]) as channel:
        yield channel


@pytest.fixture
def direct(
    validation_channel: grpc.aio.Channel, internal_secret: str
) -> Callable[[str], ValidationClient]:
    """``direct(tenant)``: validation_svc called as another service calls it."""

    def make(tenant: str) -> ValidationClient:
        return ValidationClient(validation_channel, tenant,
                                internal_metadata(internal_secret, tenant))

    return make


@dataclass
class Validated:
    """The stale model, uploaded and followed to the end of its job."""

    stale: StaleModel
    upload: workbooks_pb2.UploadWorkbookResponse
    watched: list[jobs_pb2.WatchJobResponse]
    client: ValidationClient

    @property
    def model(self) -> str:
        return self.upload.model.name


@pytest.fixture(scope="session")
async def validated(make_validation_client: ValidationClientFactory) -> Validated:
    client = await make_validation_client()
    stale = stale_model()
    upload = await client.upload(stale.data, file_name="stale.xlsx")
    watched = await client.finished(upload.job.name)
    return Validated(stale, upload, watched, client)


@pytest.fixture
async def owner(validated: Validated,
                make_validation_client: ValidationClientFactory) -> ValidationClient:
    """The stale model's tenant, with a key of the test's own (rate limits are per key)."""
    return await make_validation_client(validated.client.tenant)
