"""Must show: health follows PostgreSQL and NATS both ways, with no restart of the services.

The stack here has its own PostgreSQL and NATS (the session's are shared by
other tests and must not go down), and the four services as real processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import grpc.aio
import pytest
from tests_support import TEST_SERVICE_ENV, Metadata, bearer

from calcwire.db import check_database, create_pool
from calcwire.devstack import BACKENDS, SERVICES, LocalStack, health_status, wait_for_health
from calcwire.server import LIVENESS_SERVICE
from gateway.keys import create_api_key
from gateway.store import KeyStore

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
async def own_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalStack]:
    # Always its own servers, even when CALCWIRE_TEST_*_URL point at shared ones.
    stack = LocalStack(run_dir=tmp_path_factory.mktemp("own-stack"), die_with_parent=True)
    try:
        await stack.start_infrastructure()
        await stack.start_services(extra_env=TEST_SERVICE_ENV)
        yield stack
    finally:
        stack.stop()


async def wait_all(stack: LocalStack, wanted: str, names: tuple[str, ...] = BACKENDS) -> None:
    await asyncio.gather(*(wait_for_health(stack.endpoints[n], wanted, timeout=20) for n in names))


class TestDependencyOutage:
    async def test_postgresql_down_then_up_again(self, own_stack: LocalStack) -> None:
        pids = {name: p.pid for name, p in own_stack.services.items()}
        await wait_all(own_stack, "SERVING")

        own_stack.stop_postgres()
        await wait_all(own_stack, "NOT_SERVING", SERVICES)  # the gateway's keys are there too
        # Liveness is about the process, not its dependencies: no restart for an outage.
        for name in SERVICES:
            assert await health_status(own_stack.endpoints[name], LIVENESS_SERVICE) == "SERVING"

        await own_stack.start_postgres()
        await wait_all(own_stack, "SERVING", SERVICES)
        assert {name: p.pid for name, p in own_stack.services.items()} == pids
        assert all(p.is_running() for p in own_stack.services.values())

    async def test_nats_down_then_up_again(self, own_stack: LocalStack) -> None:
        pids = {name: p.pid for name, p in own_stack.services.items()}
        await wait_all(own_stack, "SERVING")

        own_stack.stop_nats()
        await wait_all(own_stack, "NOT_SERVING")
        assert await health_status(own_stack.endpoints["gateway"]) == "SERVING"  # it uses no NATS

        await own_stack.start_nats()
        await wait_all(own_stack, "SERVING")
        assert {name: p.pid for name, p in own_stack.services.items()} == pids

    async def test_a_pool_heals_after_a_restart(self, own_stack: LocalStack) -> None:
        pool = await create_pool(own_stack.database_url, min_size=2, max_size=2)
        try:
            assert await check_database(pool)
            own_stack.stop_postgres()
            assert not await check_database(pool, timeout=1)
            await own_stack.start_postgres()
            for _ in range(3):  # each failed check drops one dead connection
                if await check_database(pool):
                    break
            assert await pool.fetchval("SELECT 41 + 1") == 42
        finally:
            await pool.close()


class TestBackendRestart:
    async def test_gateway_reaches_a_restarted_backend_within_seconds(
        self, own_stack: LocalStack
    ) -> None:
        path = "/calcwire.validation.v1.ValidationService/ValidateModel"
        backend, gateway = own_stack.endpoints["validation_svc"], own_stack.endpoints["gateway"]
        pool = await create_pool(own_stack.database_url, min_size=1, max_size=1)
        try:
            key = bearer((await create_api_key(KeyStore(pool), "acme")).token)
        finally:
            await pool.close()
        internal = (
            ("x-calcwire-internal-secret", own_stack.ensure_internal_secret()),
            ("x-calcwire-tenant", "acme"),
        )

        async def code_via(target: str, metadata: Metadata) -> grpc.StatusCode:
            async with grpc.aio.insecure_channel(target) as channel:
                return await _call(channel, path, metadata)

        own_stack.stop_services(["validation_svc"])
        assert await code_via(gateway, key) == grpc.StatusCode.UNAVAILABLE
        await own_stack.start_services(["validation_svc"], extra_env=TEST_SERVICE_ENV)
        expected = await code_via(backend, internal)
        assert expected not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.UNAUTHENTICATED)
        restarted = time.monotonic()
        async with grpc.aio.insecure_channel(gateway) as channel:
            while (code := await _call(channel, path, key)) == grpc.StatusCode.UNAVAILABLE:
                assert time.monotonic() - restarted < 3, "gateway still cannot reach the backend"
                await asyncio.sleep(0.05)
        assert code == expected


async def _call(channel: grpc.aio.Channel, path: str, metadata: Metadata) -> grpc.StatusCode:
    try:
        await channel.unary_unary(path)(b"", metadata=metadata, timeout=5)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK
