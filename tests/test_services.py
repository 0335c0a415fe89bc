"""The four services as real processes (``python -m <service>``) behind the gateway."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import grpc.aio
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from tests_support import TEST_SERVICE_ENV, bearer

from calcwire.devstack import SERVICES, LocalStack, health_status
from gateway.routes import PUBLIC_SERVICES, backend_target, public_service_descriptors, routes

pytestmark = pytest.mark.stack

BACKEND_OF = {"import": "import_svc", "eval": "eval_svc", "validation": "validation_svc"}


def reflected_services(target: str) -> tuple[list[str], descriptor_pool.DescriptorPool]:
    channel = grpc.insecure_channel(target)
    database = ProtoReflectionDescriptorDatabase(channel)
    return list(database.get_services()), descriptor_pool.DescriptorPool(database)


class TestStartup:
    @pytest.mark.parametrize("name", SERVICES)
    async def test_every_service_reaches_serving(self, services: LocalStack, name: str) -> None:
        assert await health_status(services.endpoints[name]) == "SERVING"

    async def test_each_backend_owns_its_schema(
        self, services: LocalStack, db_pool: object
    ) -> None:
        import asyncpg

        assert isinstance(db_pool, asyncpg.Pool)
        for schema in ("workbooks", "evaluation", "validation", "gateway"):
            assert (
                await db_pool.fetchval("SELECT to_regclass($1)", f"{schema}.schema_migrations")
                is not None
            )

    def test_invalid_configuration_exits_2_with_the_reason(self) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "import_svc"],
            env={**os.environ, "CALCWIRE_ROLE": "sometimes", "CALCWIRE_LISTEN": "nowhere"},
            capture_output=True,
            check=False,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        assert (
            "CALCWIRE_ROLE='sometimes'" in result.stderr
            and "CALCWIRE_LISTEN='nowhere'" in result.stderr
        )
        assert "Traceback" not in result.stderr

    def test_unknown_database_exits_1_without_traceback(self, database_url: str) -> None:
        result = subprocess.run(
            [sys.executable, "-m", "eval_svc"],
            env={
                **os.environ,
                "DATABASE_URL": database_url.rsplit("/", 1)[0] + "/missing_db",
                "CALCWIRE_LISTEN": "127.0.0.1:0",
            },
            capture_output=True,
            check=False,
            text=True,
            timeout=60,
        )
        assert result.returncode == 1
        assert "start-up failed" in result.stderr and "missing_db" in result.stderr
        assert "Traceback" not in result.stderr


class TestGatewayReflection:
    def test_lists_every_public_service(self, gateway_target: str) -> None:
        names, pool = reflected_services(gateway_target)
        assert set(PUBLIC_SERVICES) <= set(names)
        assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= set(names)
        # Each is fully described: a client can build its methods from reflection alone.
        for name, descriptor in public_service_descriptors().items():
            reflected = pool.FindServiceByName(name)
            assert [m.name for m in reflected.methods] == [m.name for m in descriptor.methods]

    @pytest.mark.parametrize("name", ["import_svc", "eval_svc", "validation_svc"])
    def test_backends_reflect_what_they_serve(self, services: LocalStack, name: str) -> None:
        names, _ = reflected_services(services.endpoints[name])
        assert "grpc.health.v1.Health" in names


class TestGatewayRouting:
    def test_each_public_service_goes_to_its_owner(self) -> None:
        from calcwire.config import load_settings

        settings = load_settings("gateway", {})
        owners = {
            name: backend_target(settings, backend)
            for name, (_, backend) in PUBLIC_SERVICES.items()
        }
        assert owners == {
            "calcwire.workbooks.v1.WorkbookService": "127.0.0.1:50052",
            "calcwire.jobs.v1.JobService": "127.0.0.1:50052",
            "calcwire.evaluation.v1.EvaluationService": "127.0.0.1:50053",
            "calcwire.validation.v1.ValidationService": "127.0.0.1:50054",
        }

    async def test_unary_calls_get_the_owning_backends_answer(
        self, services: LocalStack, issue_key: Callable[..., Awaitable[str]], internal_secret: str
    ) -> None:
        """An empty request through the gateway (with a key of tenant ``routing``) gets the
        status the owner itself gives (called with the internal secret for that tenant)."""
        as_client = bearer(await issue_key("routing"))
        as_gateway = (
            ("x-calcwire-internal-secret", internal_secret),
            ("x-calcwire-tenant", "routing"),
        )
        gateway = grpc.aio.insecure_channel(services.endpoints["gateway"])
        try:
            for name, descriptor in public_service_descriptors().items():
                owner = grpc.aio.insecure_channel(
                    services.endpoints[BACKEND_OF[PUBLIC_SERVICES[name][1]]]
                )
                try:
                    for route in routes(descriptor):
                        if route.kind != "unary_unary":
                            continue
                        codes = []
                        for channel, metadata in ((gateway, as_client), (owner, as_gateway)):
                            try:
                                await channel.unary_unary(route.path)(
                                    b"", metadata=metadata, timeout=10
                                )
                                codes.append(grpc.StatusCode.OK)
                            except grpc.aio.AioRpcError as error:
                                codes.append(error.code())
                        assert codes[0] == codes[1], route.path
                        assert codes[0] not in (
                            grpc.StatusCode.UNAVAILABLE,
                            grpc.StatusCode.INTERNAL,
                            grpc.StatusCode.UNAUTHENTICATED,
                        ), route.path
                finally:
                    await owner.close()
        finally:
            await gateway.close()


class TestGracefulShutdown:
    async def test_sigterm_turns_health_not_serving_then_exits_cleanly(
        self, infra: LocalStack, tmp_path: Path
    ) -> None:
        stack = LocalStack(
            run_dir=tmp_path,
            die_with_parent=True,
            database_url=infra.database_url,
            nats_url=infra.nats_url,
        )
        await stack.start_services(["import_svc"], extra_env=TEST_SERVICE_ENV)
        try:
            await self._check_shutdown(stack)
        finally:
            stack.stop()

    async def _check_shutdown(self, stack: LocalStack) -> None:
        process = stack.services["import_svc"]
        async with grpc.aio.insecure_channel(stack.endpoints["import_svc"]) as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service="")
            )
            assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
            os.kill(process.pid, signal.SIGTERM)
            assert (
                await asyncio.wait_for(watch.read(), 5)
            ).status == health_pb2.HealthCheckResponse.NOT_SERVING
            watch.cancel()
        started = time.monotonic()
        assert process.popen is not None
        code = await asyncio.to_thread(process.popen.wait, 10)
        assert code == 0
        assert time.monotonic() - started < 5
        log = process.log.read_text()
        assert "shutting down" in log and "stopped" in log and "Traceback" not in log
