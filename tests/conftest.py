"""Test harness: real PostgreSQL, NATS JetStream and gRPC services, no mocks.

Session fixtures start a throwaway PostgreSQL and NATS on free ports (or use
``CALCWIRE_TEST_DATABASE_URL`` / ``CALCWIRE_TEST_NATS_URL`` when set), and the
four services as real subprocesses (``python -m <service>``) on free ports,
waiting until each one's health says SERVING. Everything the harness starts
dies with the test run, even when it is interrupted (see
``calcwire.devstack.processes.spawn``). The machinery is
``calcwire.devstack.LocalStack``, the same code as ``make up``.

Fixtures other tests use:

- ``infra``: the :class:`LocalStack` with ``database_url`` and ``nats_url``;
- ``database_url``, ``nats_url``: strings;
- ``db_pool``: an asyncpg pool on the test database;
- ``nats_client``, ``jetstream``: a connected client and its JetStream context;
- ``services``: the stack with the four services running (``endpoints[name]``
  is ``host:port``; ``gateway_target`` is the gateway's);
- ``gateway_channel``: a ``grpc.aio`` channel to the gateway;
- ``key_store``: the gateway's key store on the test database (schema migrated);
- ``issue_key``: ``await issue_key(tenant)`` issues an API key and returns its text;
- ``internal_secret``: the secret the harness's services share.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import grpc.aio
import pytest
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from tests_support import TEST_SERVICE_ENV

from calcwire.db import create_pool
from calcwire.devstack import LocalStack
from calcwire.messaging import connect_nats
from gateway.keys import create_api_key
from gateway.store import KeyStore, migrate


@pytest.fixture(scope="session")
async def infra(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalStack]:
    stack = LocalStack(
        run_dir=tmp_path_factory.mktemp("stack"), die_with_parent=True, free_ports=True
    )
    try:
        await stack.start_infrastructure(
            database_url=os.environ.get("CALCWIRE_TEST_DATABASE_URL") or None,
            nats_url=os.environ.get("CALCWIRE_TEST_NATS_URL") or None,
        )
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def database_url(infra: LocalStack) -> str:
    return infra.database_url


@pytest.fixture(scope="session")
def nats_url(infra: LocalStack) -> str:
    return infra.nats_url


@pytest.fixture(scope="session")
async def db_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=10, startup_timeout=10)
    yield pool
    await pool.close()


@pytest.fixture(scope="session")
async def nats_client(nats_url: str) -> AsyncIterator[NATS]:
    nc = await connect_nats([nats_url], name="calcwire-tests", startup_timeout=10)
    yield nc
    await nc.close()


@pytest.fixture(scope="session")
def jetstream(nats_client: NATS) -> JetStreamContext:
    return nats_client.jetstream()


@pytest.fixture(scope="session")
async def services(infra: LocalStack) -> AsyncIterator[LocalStack]:
    """The four services as subprocesses, each SERVING, for the whole session."""
    try:
        await infra.start_services(extra_env=TEST_SERVICE_ENV)
        yield infra
    finally:
        infra.stop_services()


@pytest.fixture(scope="session")
def gateway_target(services: LocalStack) -> str:
    return services.endpoints["gateway"]


@pytest.fixture(scope="session")
async def gateway_channel(gateway_target: str) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(gateway_target) as channel:
        yield channel


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
async def key_store(db_pool: asyncpg.Pool) -> KeyStore:
    await migrate(db_pool)
    return KeyStore(db_pool)


@pytest.fixture(scope="session")
def issue_key(key_store: KeyStore) -> Callable[..., Awaitable[str]]:
    async def issue(tenant: str, name: str = "tests") -> str:
        return (await create_api_key(key_store, tenant, name)).token

    return issue


@pytest.fixture(scope="session")
def internal_secret(services: LocalStack) -> str:
    return services.ensure_internal_secret()
