"""The gateway's door: API keys, the tenant it passes on, limits, TLS.

The gateway is the real one, in-process, on the test database, in front of the
test-only EchoService (``echo_backend``), which records what reaches it.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import grpc.aio
import pytest
from echo_backend import SECRET, SERVICE, Backend, echo_backend, gateway_before, path
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from tests_support import Metadata, bearer

from calcwire.devstack import health_status
from calcwire.grpc_errors import error_info, error_reason
from calcwire.server import ServiceHost
from gateway.keys import revoke_api_key
from gateway.store import KeyStore

pytestmark = pytest.mark.stack

IssueKey = Callable[..., Awaitable[str]]


@pytest.fixture(scope="module")
async def backend() -> AsyncIterator[Backend]:
    async with echo_backend() as state:
        yield state


@pytest.fixture(scope="module")
async def gateway(backend: Backend, database_url: str) -> AsyncIterator[ServiceHost]:
    async with gateway_before(
        backend, database_url, {"CALCWIRE_API_KEY_CACHE_SECONDS": "0.5"}
    ) as host:
        yield host


@pytest.fixture(scope="module")
async def channel(gateway: ServiceHost) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}") as channel:
        yield channel


async def unary(
    channel: grpc.aio.Channel, metadata: Metadata, test_id: str = ""
) -> grpc.StatusCode | bytes:
    """The backend's answer to ``Unary``, or the status code of the failure."""
    try:
        answer: bytes = await channel.unary_unary(path("Unary"))(
            b"hi", metadata=(*metadata, ("x-test-id", test_id)), timeout=5
        )
        return answer
    except grpc.aio.AioRpcError as error:
        return error.code()


async def refusal(call: Awaitable[object]) -> tuple[grpc.StatusCode, str | None]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value.code(), error_reason(caught.value)


def key_id_of(token: str) -> str:
    return token.split("_")[1]


class TestAuthentication:
    async def test_a_valid_key_passes_with_its_tenant(
        self, channel: grpc.aio.Channel, backend: Backend, issue_key: IssueKey
    ) -> None:
        assert await unary(channel, bearer(await issue_key("acme")), "valid") == b"echo:hi"
        seen = backend.metadata["valid"]
        assert seen["x-calcwire-tenant"] == "acme"
        assert seen["x-calcwire-internal-secret"] == SECRET
        assert "authorization" not in seen

    async def test_the_scheme_is_case_insensitive(
        self, channel: grpc.aio.Channel, issue_key: IssueKey
    ) -> None:
        token = await issue_key("acme")
        assert await unary(channel, (("authorization", f"bearer  {token}"),)) == b"echo:hi"

    @pytest.mark.parametrize(
        ("metadata", "reason"),
        [
            ((), "API_KEY_MISSING"),
            ((("authorization", ""),), "API_KEY_MISSING"),
            ((("authorization", "Basic dXNlcjpwdw=="),), "API_KEY_INVALID"),
            ((("authorization", "Bearer"),), "API_KEY_INVALID"),
            ((("authorization", "Bearer not-a-key"),), "API_KEY_INVALID"),
            # Well formed, but no such key id.
            ((("authorization", "Bearer cw_0123456789abcdef_" + "A" * 40),), "API_KEY_INVALID"),
        ],
        ids=["none", "empty", "basic", "no-token", "malformed", "unknown"],
    )
    async def test_without_a_valid_key_nothing_reaches_the_backend(
        self, channel: grpc.aio.Channel, backend: Backend, metadata: Metadata, reason: str
    ) -> None:
        test_id = f"refused-{reason}-{len(metadata)}"
        code, got = await refusal(
            channel.unary_unary(path("Unary"))(
                b"", metadata=(*metadata, ("x-test-id", test_id)), timeout=5
            )
        )
        assert (code, got) == (grpc.StatusCode.UNAUTHENTICATED, reason)
        assert test_id not in backend.metadata

    async def test_the_right_key_id_with_a_wrong_secret_is_invalid(
        self, channel: grpc.aio.Channel, issue_key: IssueKey
    ) -> None:
        token = await issue_key("acme")
        forged = token[:-1] + ("B" if token[-1] != "B" else "C")
        code, reason = await refusal(
            channel.unary_unary(path("Unary"))(b"", metadata=bearer(forged), timeout=5)
        )
        assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_INVALID")

    async def test_a_revoked_key_is_refused(
        self, channel: grpc.aio.Channel, issue_key: IssueKey, key_store: KeyStore
    ) -> None:
        token = await issue_key("acme")
        await revoke_api_key(key_store, key_id_of(token))
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(path("Unary"))(b"", metadata=bearer(token), timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        info = error_info(caught.value)
        assert info is not None and info.reason == "API_KEY_REVOKED"
        assert info.metadata["key_id"] == key_id_of(token)

    async def test_revoking_a_key_in_use_stops_it_within_the_cache_time(
        self, channel: grpc.aio.Channel, issue_key: IssueKey, key_store: KeyStore
    ) -> None:
        token = await issue_key("acme")
        assert await unary(channel, bearer(token)) == b"echo:hi"  # now cached
        await revoke_api_key(key_store, key_id_of(token))
        revoked_at = time.monotonic()
        while await unary(channel, bearer(token)) == b"echo:hi":
            assert time.monotonic() - revoked_at < 0.5 + 0.5, "still accepted after the cache time"
            await asyncio.sleep(0.05)
        code, reason = await refusal(
            channel.unary_unary(path("Unary"))(b"", metadata=bearer(token), timeout=5)
        )
        assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_REVOKED")

    async def test_every_call_kind_needs_a_key(self, channel: grpc.aio.Channel) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a"

        calls: list[Awaitable[object]] = [
            channel.stream_unary(path("Collect"))(chunks(), timeout=5),
            channel.unary_stream(path("Repeat"))(b"1,1", timeout=5).read(),
            channel.stream_stream(path("Chat"))(chunks(), timeout=5).read(),
        ]
        for call in calls:
            assert await refusal(call) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_MISSING")

    async def test_a_client_cannot_choose_its_tenant_or_pass_a_secret(
        self, channel: grpc.aio.Channel, backend: Backend, issue_key: IssueKey
    ) -> None:
        metadata = (
            *bearer(await issue_key("acme")),
            ("x-calcwire-tenant", "someone-else"),
            ("x-calcwire-internal-secret", "guess"),
        )
        assert await unary(channel, metadata, "spoof") == b"echo:hi"
        seen = backend.metadata["spoof"]
        assert seen["x-calcwire-tenant"] == "acme"
        assert seen["x-calcwire-internal-secret"] == SECRET

    async def test_health_and_reflection_need_no_key(self, gateway: ServiceHost) -> None:
        target = f"127.0.0.1:{gateway.port}"
        assert await health_status(target) == "SERVING"
        assert await health_status(target, SERVICE) == "SERVING"

        def reflected() -> list[str]:
            channel = grpc.insecure_channel(target)
            try:
                return list(ProtoReflectionDescriptorDatabase(channel).get_services())
            finally:
                channel.close()

        # The blocking reflection client runs in a thread: the gateway shares this loop.
        assert SERVICE in await asyncio.to_thread(reflected)


class TestDeadlinesThroughAuthentication:
    async def test_deadline_reaches_the_backend(
        self, channel: grpc.aio.Channel, backend: Backend, issue_key: IssueKey
    ) -> None:
        metadata = (*bearer(await issue_key("acme")), ("x-test-id", "auth-deadline"))
        await channel.unary_unary(path("Unary"))(b"", metadata=metadata, timeout=2)
        left = backend.time_left["auth-deadline"]
        assert left is not None and 1 < left <= 2.1

    async def test_client_cancel_reaches_the_backend(
        self, channel: grpc.aio.Channel, backend: Backend, issue_key: IssueKey
    ) -> None:
        metadata = (*bearer(await issue_key("acme")), ("x-test-id", "auth-cancel"))
        call = channel.unary_stream(path("Endless"))(b"", metadata=metadata)
        assert await call.read() == b"first"
        call.cancel()
        await asyncio.wait_for(backend.cancelled["auth-cancel"].wait(), 5)


class TestRateLimit:
    async def test_a_key_over_its_rate_is_refused_and_recovers(
        self, backend: Backend, database_url: str, issue_key: IssueKey
    ) -> None:
        # One token every 2 s: the burst cannot refill between calls, even on a busy machine.
        env = {"CALCWIRE_RATE_LIMIT_PER_SECOND": "0.5", "CALCWIRE_RATE_LIMIT_BURST": "3"}
        async with (
            gateway_before(backend, database_url, env) as host,
            grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel,
        ):
            busy, other = bearer(await issue_key("acme")), bearer(await issue_key("acme"))
            answers = [await unary(channel, busy) for _ in range(3)]
            assert answers == [b"echo:hi"] * 3  # the burst
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await channel.unary_unary(path("Unary"))(b"", metadata=busy, timeout=5)
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            info = error_info(caught.value)
            assert info is not None and info.reason == "RATE_LIMITED"
            retry_after = float(info.metadata["retry_after_seconds"])
            assert 0 < retry_after <= 2.001
            # Another key of the same tenant has its own bucket.
            assert await unary(channel, other) == b"echo:hi"
            await asyncio.sleep(retry_after + 0.05)
            assert await unary(channel, busy) == b"echo:hi"


class TestUploadLimit:
    async def test_uploads_over_the_limit_are_refused_until_one_ends(
        self, backend: Backend, database_url: str, issue_key: IssueKey
    ) -> None:
        env = {"CALCWIRE_MAX_CONCURRENT_UPLOADS": "2"}
        async with (
            gateway_before(backend, database_url, env) as host,
            grpc.aio.insecure_channel(f"127.0.0.1:{host.port}") as channel,
        ):
            key = bearer(await issue_key("acme"))
            upload = channel.stream_unary(path("Collect"))
            release = [asyncio.Event(), asyncio.Event()]

            def held(event: asyncio.Event) -> AsyncIterator[bytes]:
                async def chunks() -> AsyncIterator[bytes]:
                    yield b"part"
                    await event.wait()

                return chunks()

            first = upload(held(release[0]), metadata=key, timeout=10)
            second = upload(held(release[1]), metadata=key, timeout=10)
            await asyncio.sleep(0.3)  # both in flight at the backend
            code, reason = await refusal(upload(held(asyncio.Event()), metadata=key, timeout=10))
            assert (code, reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "TOO_MANY_UPLOADS")
            # Other calls of the key, and other keys' uploads, are not held up.
            assert await unary(channel, key) == b"echo:hi"
            other = bearer(await issue_key("acme"))
            done = asyncio.Event()
            done.set()
            assert await upload(held(done), metadata=other, timeout=5) == b"part"

            release[0].set()
            assert await first == b"part"
            done_too = asyncio.Event()
            done_too.set()
            assert await upload(held(done_too), metadata=key, timeout=5) == b"part"
            second.cancel()  # a cancelled upload gives its slot back too
            await asyncio.sleep(0.2)
            assert await upload(held(done), metadata=key, timeout=5) == b"part"
            assert await upload(held(done), metadata=key, timeout=5) == b"part"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for ``localhost`` (and 127.0.0.1), made with the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
class TestTls:
    async def test_the_public_port_speaks_tls_when_configured(
        self, backend: Backend, database_url: str, issue_key: IssueKey, tmp_path: Path
    ) -> None:
        cert, key = self_signed_certificate(tmp_path)
        env = {"CALCWIRE_TLS_CERT_FILE": str(cert), "CALCWIRE_TLS_KEY_FILE": str(key)}
        async with gateway_before(backend, database_url, env) as host:
            credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
            target = f"localhost:{host.port}"
            async with grpc.aio.secure_channel(target, credentials) as channel:
                assert await unary(channel, bearer(await issue_key("acme"))) == b"echo:hi"
                check = health_pb2_grpc.HealthStub(channel).Check
                answer = await check(health_pb2.HealthCheckRequest(), timeout=5)
                assert answer.status == health_pb2.HealthCheckResponse.SERVING
                code, reason = await refusal(channel.unary_unary(path("Unary"))(b"", timeout=5))
                assert (code, reason) == (grpc.StatusCode.UNAUTHENTICATED, "API_KEY_MISSING")
            async with grpc.aio.insecure_channel(target) as plaintext:
                with pytest.raises(grpc.aio.AioRpcError) as caught:
                    await plaintext.unary_unary(path("Unary"))(b"", timeout=2)
                assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
