"""Backends take calls only with the internal secret, and act for the tenant it vouches for.

A backend here is a real ``ServiceHost`` (the bootstrap every backend uses)
serving a test method that answers with ``request_tenant(context)``; the
callers are plain channels and :func:`calcwire.internal_client.internal_channel`.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import grpc.aio
import pytest
from tests_support import Metadata

from calcwire.config import load_settings
from calcwire.devstack import LocalStack, health_status
from calcwire.grpc_errors import error_reason
from calcwire.internal_auth import secrets_match
from calcwire.internal_client import internal_channel
from calcwire.server import Registry, Runtime, ServiceHost, ServiceSpec, request_tenant

SECRET = "backend-tests-internal-secret"
WHO = "/t.Tenant/Who"
STREAM = "/t.Tenant/Stream"


def tenant_setup(runtime: Runtime, registry: Registry) -> None:
    async def who(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        return request_tenant(context).encode()

    async def stream(
        request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
    ) -> AsyncIterator[bytes]:
        for _ in range(2):
            yield request_tenant(context).encode()

    handler = grpc.method_handlers_generic_handler(
        "t.Tenant",
        {
            "Who": grpc.unary_unary_rpc_method_handler(who),
            "Stream": grpc.unary_stream_rpc_method_handler(stream),
        },
    )
    registry.add_generic_handler("t.Tenant", handler)


@asynccontextmanager
async def backend(
    nats_url: str, secret: str = SECRET, env: dict[str, str] | None = None
) -> AsyncIterator[ServiceHost]:
    settings = load_settings(
        "validation_svc",
        {
            "CALCWIRE_LISTEN": "127.0.0.1:0",
            "NATS_URL": nats_url,
            "CALCWIRE_INTERNAL_SECRET": secret,
            "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "1",
            **(env or {}),
        },
    )
    host = ServiceHost(
        ServiceSpec(name="validation_svc", schema=None, setup=tenant_setup), settings
    )
    await host.start()
    try:
        yield host
    finally:
        await host.stop()


async def answer(channel: grpc.aio.Channel, metadata: Metadata, method: str = WHO) -> object:
    """The tenant the backend saw, or (code, reason) of the refusal."""
    try:
        if method == STREAM:
            return [
                m async for m in channel.unary_stream(method)(b"", metadata=metadata, timeout=5)
            ]
        reply: bytes = await channel.unary_unary(method)(b"", metadata=metadata, timeout=5)
        return reply
    except grpc.aio.AioRpcError as error:
        return error.code(), error_reason(error)


REFUSED = (grpc.StatusCode.UNAUTHENTICATED, "INTERNAL_SECRET_INVALID")


class TestSecretCheck:
    async def test_calls_without_the_right_secret_are_refused(self, nats_url: str) -> None:
        async with (
            backend(nats_url) as host,
            grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel,
        ):
            tenant = ("x-calcwire-tenant", "acme")
            assert await answer(channel, (tenant,)) == REFUSED
            assert await answer(channel, (tenant, ("x-calcwire-internal-secret", ""))) == REFUSED
            wrong = ("x-calcwire-internal-secret", SECRET[:-1] + "X")
            assert await answer(channel, (tenant, wrong)) == REFUSED
            assert await answer(channel, (tenant,), STREAM) == REFUSED
            # Before the method is even looked up: no hint of what exists.
            assert await answer(channel, (tenant,), "/t.Tenant/Nope") == REFUSED

    async def test_with_the_secret_the_call_acts_for_the_named_tenant(self, nats_url: str) -> None:
        async with (
            backend(nats_url) as host,
            grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel,
        ):
            secret = ("x-calcwire-internal-secret", SECRET)
            assert await answer(channel, (secret, ("x-calcwire-tenant", "acme"))) == b"acme"
            assert await answer(channel, (secret, ("x-calcwire-tenant", "beta")), STREAM) == [
                b"beta",
                b"beta",
            ]
            assert await answer(channel, (secret,)) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "TENANT_MISSING",
            )
            assert await answer(channel, (secret, ("x-calcwire-tenant", "Not Valid"))) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                "INVALID_TENANT",
            )
            unknown = await answer(
                channel, (secret, ("x-calcwire-tenant", "acme")), "/t.Tenant/Nope"
            )
            assert unknown == (grpc.StatusCode.UNIMPLEMENTED, None)

    async def test_health_and_reflection_stay_open(self, nats_url: str) -> None:
        async with backend(nats_url) as host:
            target = f"127.0.0.1:{host.port}"
            assert await health_status(target) == "SERVING"
            assert await health_status(target, "t.Tenant") == "SERVING"

    async def test_without_a_configured_secret_the_header_or_default_is_taken(
        self, nats_url: str
    ) -> None:
        async with (
            backend(nats_url, secret="") as host,
            grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel,
        ):
            assert await answer(channel, (("x-calcwire-tenant", "acme"),)) == b"acme"
            assert await answer(channel, ()) == b"default"

    async def test_request_tenant_refuses_outside_a_checked_call(self, nats_url: str) -> None:
        """A servicer served without the backend's check (here: on a public spec) gets no
        tenant from request_tenant, not a default."""
        settings = load_settings(
            "gateway", {"CALCWIRE_LISTEN": "127.0.0.1:0", "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "1"}
        )
        spec = ServiceSpec(
            name="gateway", schema=None, uses_nats=False, setup=tenant_setup, public=True
        )
        host = ServiceHost(spec, settings)
        await host.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel:
                metadata = (("x-calcwire-tenant", "acme"),)
                assert await answer(channel, metadata) == REFUSED
        finally:
            await host.stop()

    def test_secrets_are_compared_whole(self) -> None:
        assert secrets_match(SECRET, SECRET) and secrets_match(SECRET.encode(), SECRET)
        assert not secrets_match(None, SECRET)
        assert not secrets_match(SECRET[:-1], SECRET)
        assert not secrets_match(SECRET + "x", SECRET)


class TestInternalChannel:
    async def test_carries_secret_tenant_and_request_id(self, nats_url: str) -> None:
        async with backend(nats_url) as host:
            settings = load_settings("eval_svc", {"CALCWIRE_INTERNAL_SECRET": SECRET})
            async with internal_channel(settings, f"127.0.0.1:{host.port}") as calls:
                metadata = calls.metadata("acme", (("x-request-id", "r-9"),))
                assert ("x-request-id", "r-9") in metadata
                assert await answer(calls.channel, metadata) == b"acme"
                # What a caller passes on may not override the tenant or the secret.
                smuggled = calls.metadata("acme", (("x-calcwire-tenant", "beta"),))
                assert await answer(calls.channel, smuggled) == b"acme"
                assert "backend-tests" not in repr(calls)

    def test_refuses_an_invalid_tenant(self) -> None:
        settings = load_settings("eval_svc", {"CALCWIRE_INTERNAL_SECRET": SECRET})
        calls = internal_channel(settings, "127.0.0.1:1")
        with pytest.raises(Exception, match="invalid tenant"):
            calls.metadata("")


@pytest.mark.stack
class TestRealBackends:
    @pytest.mark.parametrize("name", ["import_svc", "eval_svc", "validation_svc"])
    async def test_a_direct_call_without_the_secret_is_refused(
        self, services: LocalStack, internal_secret: str, name: str
    ) -> None:
        method = {
            "import_svc": "/calcwire.workbooks.v1.WorkbookService/ListModels",
            "eval_svc": "/calcwire.evaluation.v1.EvaluationService/Calculate",
            "validation_svc": "/calcwire.validation.v1.ValidationService/GetValidationSummary",
        }[name]
        async with grpc.aio.insecure_channel(services.endpoints[name]) as channel:
            tenant = ("x-calcwire-tenant", "acme")
            assert await answer(channel, (tenant,), method) == REFUSED
            # With the stack's secret the call gets through to the service itself.
            passed = await answer(
                channel, (tenant, ("x-calcwire-internal-secret", internal_secret)), method
            )
            assert passed != REFUSED


def make_certificates(directory: Path) -> Callable[[str], tuple[Path, Path]]:
    """A CA, and a function issuing a certificate for 127.0.0.1/localhost signed by it."""
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=calcwire test CA", "-keyout", str(ca_key), "-out", str(ca_cert),
        ],
        check=True, capture_output=True,
    )  # fmt: skip

    def issue(name: str, ca: tuple[Path, Path] = (ca_cert, ca_key)) -> tuple[Path, Path]:
        key, csr, cert = (
            directory / f"{name}.key",
            directory / f"{name}.csr",
            directory / f"{name}.pem",
        )
        ext = directory / f"{name}.ext"
        ext.write_text(
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n"
        )
        subprocess.run(
            [
                "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                "-keyout", str(key), "-out", str(csr),
            ],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [
                "openssl", "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
                "-CAcreateserial", "-days", "1", "-extfile", str(ext), "-out", str(cert),
            ],
            check=True, capture_output=True,
        )  # fmt: skip
        return cert, key

    return issue


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
class TestMutualTls:
    async def test_backend_takes_only_callers_with_a_certificate_from_the_ca(
        self, nats_url: str, tmp_path: Path
    ) -> None:
        issue = make_certificates(tmp_path)
        server_cert, server_key = issue("backend")
        client_cert, client_key = issue("gateway")

        def tls_env(cert: Path, key: Path) -> dict[str, str]:
            return {
                "CALCWIRE_INTERNAL_SECRET": SECRET,
                "CALCWIRE_INTERNAL_TLS_CERT_FILE": str(cert),
                "CALCWIRE_INTERNAL_TLS_KEY_FILE": str(key),
                "CALCWIRE_INTERNAL_TLS_CA_FILE": str(tmp_path / "ca.pem"),
            }

        async with backend(nats_url, env=tls_env(server_cert, server_key)) as host:
            target = f"localhost:{host.port}"
            caller = load_settings("gateway", tls_env(client_cert, client_key))
            async with internal_channel(caller, target) as calls:
                assert await answer(calls.channel, calls.metadata("acme")) == b"acme"

            # Plaintext, or TLS without a client certificate: no connection at all.
            plain = load_settings("gateway", {"CALCWIRE_INTERNAL_SECRET": SECRET})
            async with internal_channel(plain, target) as calls:
                refused = await answer(calls.channel, calls.metadata("acme"))
                assert refused == (grpc.StatusCode.UNAVAILABLE, None)
            anonymous = grpc.ssl_channel_credentials((tmp_path / "ca.pem").read_bytes())
            async with grpc.aio.secure_channel(target, anonymous) as channel:
                metadata = (("x-calcwire-internal-secret", SECRET), ("x-calcwire-tenant", "acme"))
                code = await answer(channel, metadata)
                assert isinstance(code, tuple) and code[0] == grpc.StatusCode.UNAVAILABLE

            # A certificate from another CA is refused too.
            other_dir = tmp_path / "other"
            other_dir.mkdir()
            stranger_cert, stranger_key = make_certificates(other_dir)("stranger")
            stranger = load_settings(
                "gateway",
                {
                    **tls_env(stranger_cert, stranger_key),
                    "CALCWIRE_INTERNAL_TLS_CA_FILE": str(tmp_path / "ca.pem"),
                },
            )
            async with internal_channel(stranger, target) as calls:
                code = await answer(calls.channel, calls.metadata("acme"))
                assert isinstance(code, tuple) and code[0] == grpc.StatusCode.UNAVAILABLE
