"""The gateway forwards every call kind without decoding, to a real backend.

The backend is the test-only EchoService of ``echo_backend`` (a real grpc.aio
server); the gateway is the real one, in-process, on the test database. Every
call here carries a valid API key: what happens without one is in
``test_gateway_auth.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import grpc
import grpc.aio
import pytest
from echo_backend import (
    BIG,
    OTHER,
    SECRET,
    SERVICE,
    SIZES,
    Backend,
    echo_backend,
    gateway_before,
    path,
    test_descriptors,
)
from grpc_health.v1 import health_pb2
from tests_support import Metadata, bearer

from calcwire.devstack import health_status, wait_for_health
from calcwire.grpc_errors import error_reason
from calcwire.server import ServiceHost
from gateway.routes import Route, routes

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
async def backend() -> AsyncIterator[Backend]:
    async with echo_backend() as state:
        yield state


@pytest.fixture(scope="module")
async def gateway(backend: Backend, database_url: str) -> AsyncIterator[ServiceHost]:
    async with gateway_before(backend, database_url) as host:
        yield host


@pytest.fixture(scope="module")
async def channel(gateway: ServiceHost) -> AsyncIterator[grpc.aio.Channel]:
    options = [*SIZES, ("grpc.primary_user_agent", "calcwire-test-client")]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}", options=options) as channel:
        yield channel


@pytest.fixture(scope="module")
async def auth(issue_key: Callable[[str], Awaitable[str]]) -> Metadata:
    return bearer(await issue_key("forwarding"))


class TestMethodTable:
    def test_kinds_come_from_the_descriptor(self) -> None:
        table = {r.method: r.kind for r in routes(test_descriptors()[SERVICE])}
        assert table["Unary"] == "unary_unary"
        assert table["Collect"] == "stream_unary"
        assert table["Repeat"] == "unary_stream"
        assert table["Chat"] == "stream_stream"
        assert Route(SERVICE, "Unary", "unary_unary").path == "/calcwire.test.v1.EchoService/Unary"


class TestForwarding:
    async def test_unary_with_metadata_headers_and_trailers(
        self, channel: grpc.aio.Channel, backend: Backend, auth: Metadata
    ) -> None:
        # Not a valid protobuf message: the gateway must not care.
        call = channel.unary_unary(path("Unary"))(
            b"\xff\xfe raw",
            metadata=(
                *auth,
                ("x-test-id", "unary"),
                ("x-custom", "v"),
                ("x-blob-bin", b"\x01\x02"),
            ),
            timeout=5,
        )
        assert await call == b"echo:\xff\xfe raw"
        assert ("x-backend-header", "h") in tuple(await call.initial_metadata())
        trailers = tuple(await call.trailing_metadata())
        assert ("x-backend-trailer", "t") in trailers and ("x-bin-bin", b"\x00\xff") in trailers
        seen = backend.metadata["unary"]
        assert seen["x-custom"] == "v" and seen["x-blob-bin"] == b"\x01\x02"
        assert "calcwire-test-client" not in str(
            seen.get("user-agent", "")
        )  # hop-by-hop stays behind
        assert seen["x-request-id"]  # the gateway gives every call a request id
        assert seen["x-calcwire-tenant"] == "forwarding"  # the key's tenant
        assert seen["x-calcwire-internal-secret"] == SECRET
        assert "authorization" not in seen  # the client's key stays at the gateway

    async def test_client_request_id_is_kept(
        self, channel: grpc.aio.Channel, backend: Backend, auth: Metadata
    ) -> None:
        await channel.unary_unary(path("Unary"))(
            b"", metadata=(*auth, ("x-test-id", "rid"), ("x-request-id", "r-1")), timeout=5
        )
        assert backend.metadata["rid"]["x-request-id"] == "r-1"

    async def test_client_stream(self, channel: grpc.aio.Channel, auth: Metadata) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for chunk in (b"a", b"b", b"c"):
                yield chunk

        assert (
            await channel.stream_unary(path("Collect"))(chunks(), metadata=auth, timeout=5)
            == b"a|b|c"
        )

    async def test_server_stream_of_large_messages(
        self, channel: grpc.aio.Channel, auth: Metadata
    ) -> None:
        call = channel.unary_stream(path("Repeat"))(f"3,{BIG}".encode(), metadata=auth, timeout=20)
        received = [message async for message in call]
        assert [(len(m), m[:1]) for m in received] == [(BIG, b"A"), (BIG, b"B"), (BIG, b"C")]

    async def test_bidirectional_messages_flow_one_by_one(
        self, channel: grpc.aio.Channel, auth: Metadata
    ) -> None:
        call = channel.stream_stream(path("Chat"))(metadata=auth, timeout=5)
        for word in (b"one", b"two", b"three"):
            await call.write(word)
            assert await call.read() == word.upper()  # answered before the next is sent
        await call.done_writing()
        assert await call.code() == grpc.StatusCode.OK

    async def test_error_status_and_details_pass_unchanged(
        self, channel: grpc.aio.Channel, auth: Metadata
    ) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(path("Fail"))(b"", metadata=auth, timeout=5)
        error = caught.value
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert error.details() == "no model m1"
        assert error_reason(error) == "MODEL_NOT_FOUND"
        assert ("x-backend-trailer", "t") in tuple(error.trailing_metadata())

    async def test_unknown_method_is_unimplemented(
        self, channel: grpc.aio.Channel, auth: Metadata
    ) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(path("NoSuchMethod"))(b"", metadata=auth, timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED

    async def test_unreachable_backend_is_unavailable(
        self, channel: grpc.aio.Channel, auth: Metadata
    ) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(f"/{OTHER}/Ping")(b"", metadata=auth, timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


class TestDeadlinesAndCancellation:
    async def test_deadline_reaches_the_backend(
        self, channel: grpc.aio.Channel, backend: Backend, auth: Metadata
    ) -> None:
        await channel.unary_unary(path("Unary"))(
            b"", metadata=(*auth, ("x-test-id", "deadline")), timeout=3
        )
        left = backend.time_left["deadline"]
        # gRPC rounds the grpc-timeout header up, so a little over 3 s can arrive.
        assert left is not None and 2 < left <= 3.1
        await channel.unary_unary(path("Unary"))(
            b"", metadata=(*auth, ("x-test-id", "no-deadline"))
        )
        assert backend.time_left["no-deadline"] is None

    async def test_expired_deadline_cancels_the_backend_call(
        self, channel: grpc.aio.Channel, backend: Backend, auth: Metadata
    ) -> None:
        call = channel.unary_stream(path("Endless"))(
            b"", metadata=(*auth, ("x-test-id", "expire")), timeout=0.5
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in call:
                pass
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await asyncio.wait_for(backend.cancelled["expire"].wait(), 5)

    async def test_client_cancel_reaches_the_backend(
        self, channel: grpc.aio.Channel, backend: Backend, auth: Metadata
    ) -> None:
        call = channel.unary_stream(path("Endless"))(b"", metadata=(*auth, ("x-test-id", "cancel")))
        assert await call.read() == b"first"
        call.cancel()
        await asyncio.wait_for(backend.cancelled["cancel"].wait(), 5)

    async def test_deadline_of_a_client_stream_reaches_the_backend(
        self, channel: grpc.aio.Channel, backend: Backend, auth: Metadata
    ) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            yield b"a"

        await channel.stream_unary(path("Collect"))(
            chunks(), metadata=(*auth, ("x-test-id", "stream-deadline")), timeout=3
        )
        left = backend.time_left["stream-deadline"]
        assert left is not None and 2 < left <= 3.1

    async def test_client_cancel_of_a_client_stream_ends_the_backend_call(
        self, channel: grpc.aio.Channel, backend: Backend, auth: Metadata
    ) -> None:
        # grpcio's asyncio server ends a client stream's request iterator (it does not cancel
        # the handler) when the client cancels, with or without a gateway in between; what the
        # gateway must do is end the backend call rather than leave it waiting for requests.
        call = channel.stream_unary(path("Collect"))(
            metadata=(*auth, ("x-test-id", "stream-cancel"))
        )
        await call.write(b"a")
        while "stream-cancel" not in backend.ended:
            await asyncio.sleep(0.01)
        call.cancel()
        await asyncio.wait_for(backend.ended["stream-cancel"].wait(), 5)

    async def test_backend_ending_a_client_stream_early_keeps_its_status(
        self, gateway: ServiceHost, auth: Metadata
    ) -> None:
        # The backend refuses while the client is still sending: every time, the client gets
        # the backend's status and reason, never INTERNAL (grpc/grpc#36066). The client side is
        # grpcio's blocking client, whose own leg keeps the status; the gateway's is under test.
        def requests() -> Iterator[bytes]:
            yield b"refuse"
            for _ in range(64):
                yield b"x" * (1 << 20)

        def upload_many() -> list[grpc.RpcError]:
            caught = []
            with grpc.insecure_channel(f"127.0.0.1:{gateway.port}", options=SIZES) as blocking:
                collect = blocking.stream_unary(path("Collect"))
                for _ in range(20):
                    with pytest.raises(grpc.RpcError) as error:
                        collect(requests(), metadata=auth, timeout=10)
                    caught.append(error.value)
            return caught

        for attempt, error in enumerate(await asyncio.to_thread(upload_many)):
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, (attempt, error)
            assert error_reason(error) == "FILE_TOO_LARGE", (attempt, error)

    async def test_backend_cancel_reaches_the_client(
        self, channel: grpc.aio.Channel, auth: Metadata
    ) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(path("CancelledByBackend"))(b"", metadata=auth, timeout=5)
        assert caught.value.code() == grpc.StatusCode.CANCELLED
        assert caught.value.details() == "stopped by the backend"


class TestHealth:
    async def test_gateway_itself_is_serving(self, gateway: ServiceHost) -> None:
        assert await health_status(f"127.0.0.1:{gateway.port}") == "SERVING"

    async def test_service_health_follows_its_backend(
        self, gateway: ServiceHost, backend: Backend
    ) -> None:
        target = f"127.0.0.1:{gateway.port}"
        await wait_for_health(target, "SERVING", service=SERVICE, timeout=5)
        await backend.health.set(SERVICE, health_pb2.HealthCheckResponse.NOT_SERVING)
        try:
            await wait_for_health(target, "NOT_SERVING", service=SERVICE, timeout=5)
        finally:
            await backend.health.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
        await wait_for_health(target, "SERVING", service=SERVICE, timeout=5)

    async def test_unreachable_backend_is_not_serving(self, gateway: ServiceHost) -> None:
        await wait_for_health(f"127.0.0.1:{gateway.port}", "NOT_SERVING", service=OTHER, timeout=5)
