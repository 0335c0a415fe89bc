"""Fixtures of the pipeline tests: a client of the four public services through the gateway,
for a tenant of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc.aio
import pytest
from pipeline_helpers import Pipeline, PipelineFactory, new_tenant
from tests_support import bearer


@pytest.fixture(scope="session")
def make_pipeline(
    gateway_channel: grpc.aio.Channel, issue_key: Callable[..., Awaitable[str]]
) -> PipelineFactory:
    """``await make_pipeline()``: a client through the gateway with an API key of a new tenant."""

    async def make() -> Pipeline:
        tenant = new_tenant()
        return Pipeline(gateway_channel, tenant, bearer(await issue_key(tenant)))

    return make
