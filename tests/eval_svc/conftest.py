"""Fixtures of the evaluation service's tests: clients of import_svc and eval_svc per tenant,
through the gateway with an API key or straight to eval_svc with the internal secret."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc.aio
import pytest

# import_svc's test helpers (upload, watch) are this suite's too.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "import_svc"))

from eval_helpers import EvalClient
from import_helpers import internal_metadata, new_tenant
from tests_support import bearer

from calcwire.devstack import LocalStack

EvalClientFactory = Callable[..., Awaitable[EvalClient]]


@pytest.fixture(scope="session")
def make_eval_client(
    gateway_channel: grpc.aio.Channel, issue_key: Callable[..., Awaitable[str]]
) -> EvalClientFactory:
    """``await make_eval_client(tenant=None)``: both services through the gateway with a new
    API key of ``tenant`` (a new tenant when None)."""

    async def make(tenant: str | None = None) -> EvalClient:
        tenant = tenant or new_tenant()
        return EvalClient(gateway_channel, tenant, bearer(await issue_key(tenant)))

    return make


@pytest.fixture
async def client(make_eval_client: EvalClientFactory) -> EvalClient:
    return await make_eval_client()


@pytest.fixture(scope="session")
async def eval_channel(services: LocalStack) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to eval_svc itself (not through the gateway)."""
    async with grpc.aio.insecure_channel(services.endpoints["eval_svc"]) as channel:
        yield channel


@pytest.fixture
def direct(
    eval_channel: grpc.aio.Channel, internal_secret: str
) -> Callable[[str], EvalClient]:
    """``direct(tenant)``: eval_svc called as another service calls it (secret + tenant)."""

    def make(tenant: str) -> EvalClient:
        return EvalClient(eval_channel, tenant, internal_metadata(internal_secret, tenant))

    return make
