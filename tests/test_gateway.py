"""The gateway forwards every call kind without decoding, to a real backend.

The backend here is a test-only service (``calcwire.test.v1.EchoService``)
whose descriptor is built in the test, served with generic handlers on a real
grpc.aio server; the gateway is the real one (``gateway.app.gateway_spec``),
started in-process by the server bootstrap, with its method table read from
that descriptor exactly as it reads the public services'.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import grpc
import grpc.aio
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from calcwire import errors
from calcwire.config import load_settings
from calcwire.devstack import free_port, health_status, wait_for_health
from calcwire.grpc_errors import error_reason, status_for
from calcwire.server import ServiceHost
from gateway.app import gateway_spec
from gateway.routes import Route, routes

SERVICE = "calcwire.test.v1.EchoService"
OTHER = "calcwire.test.v1.NobodyService"
BIG = 5 * 1024 * 1024  # over gRPC's default 4 MiB limit, under calcwire's 8 MiB


def test_descriptors() -> dict[str, ServiceDescriptor]:
    """EchoService (all four call kinds) and NobodyService, in a private pool."""
    proto = descriptor_pb2.FileDescriptorProto(
        name="calcwire/test/v1/echo.proto", package="calcwire.test.v1", syntax="proto3"
    )
    message = proto.message_type.add(name="Blob")
    message.field.add(
        name="data",
        number=1,
        type=descriptor_pb2.FieldDescriptorProto.TYPE_BYTES,
        label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL,
    )
    echo = proto.service.add(name="EchoService")
    for name, client_streaming, server_streaming in [
        ("Unary", False, False),
        ("Collect", True, False),
        ("Repeat", False, True),
        ("Chat", True, True),
        ("Fail", False, False),
        ("Endless", False, True),
        ("CancelledByBackend", False, False),
    ]:
        echo.method.add(
            name=name,
            input_type=".calcwire.test.v1.Blob",
            output_type=".calcwire.test.v1.Blob",
            client_streaming=client_streaming,
            server_streaming=server_streaming,
        )
    nobody = proto.service.add(name="NobodyService")
    nobody.method.add(
        name="Ping", input_type=".calcwire.test.v1.Blob", output_type=".calcwire.test.v1.Blob"
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(proto)
    return {name: pool.FindServiceByName(name) for name in (SERVICE, OTHER)}


test_descriptors.__test__ = False  # type: ignore[attr-defined]


@dataclasses.dataclass
class Backend:
    """What the backend saw, per x-test-id."""

    target: str
    health: health.aio.HealthServicer
    metadata: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    time_left: dict[str, float | None] = dataclasses.field(default_factory=dict)
    cancelled: dict[str, asyncio.Event] = dataclasses.field(default_factory=dict)

    def observe(self, context: grpc.aio.ServicerContext[bytes, bytes]) -> str:
        seen = dict(context.invocation_metadata() or ())
        test_id = str(seen.get("x-test-id", ""))
        self.metadata[test_id] = seen
        self.time_left[test_id] = context.time_remaining()
        return test_id


def backend_handlers(backend: Backend) -> grpc.GenericRpcHandler:
    async def unary(request: bytes, context: Any) -> bytes:
        backend.observe(context)
        await context.send_initial_metadata((("x-backend-header", "h"),))
        context.set_trailing_metadata((("x-backend-trailer", "t"), ("x-bin-bin", b"\x00\xff")))
        return b"echo:" + request

    async def collect(requests: AsyncIterator[bytes], context: Any) -> bytes:
        backend.observe(context)
        return b"|".join([r async for r in requests])

    async def repeat(request: bytes, context: Any) -> AsyncIterator[bytes]:
        backend.observe(context)
        count, size = (int(x) for x in request.split(b","))
        for i in range(count):
            yield bytes([65 + i]) * size

    async def chat(requests: AsyncIterator[bytes], context: Any) -> AsyncIterator[bytes]:
        backend.observe(context)
        async for request in requests:
            yield request.upper()

    async def fail(request: bytes, context: Any) -> bytes:
        backend.observe(context)
        status = status_for(
            errors.NotFound(
                "no model m1", reason="MODEL_NOT_FOUND", metadata={"model": "models/m1"}
            )
        )
        await context.abort(
            status.code, status.details, (*status.trailing_metadata, ("x-backend-trailer", "t"))
        )
        return b""

    async def endless(request: bytes, context: Any) -> AsyncIterator[bytes]:
        test_id = backend.observe(context)
        event = backend.cancelled.setdefault(test_id, asyncio.Event())
        try:
            yield b"first"
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            event.set()
            raise

    async def cancelled_by_backend(request: bytes, context: Any) -> bytes:
        backend.observe(context)
        await context.abort(grpc.StatusCode.CANCELLED, "stopped by the backend")
        return b""

    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            "Unary": grpc.unary_unary_rpc_method_handler(unary),
            "Collect": grpc.stream_unary_rpc_method_handler(collect),
            "Repeat": grpc.unary_stream_rpc_method_handler(repeat),
            "Chat": grpc.stream_stream_rpc_method_handler(chat),
            "Fail": grpc.unary_unary_rpc_method_handler(fail),
            "Endless": grpc.unary_stream_rpc_method_handler(endless),
            "CancelledByBackend": grpc.unary_unary_rpc_method_handler(cancelled_by_backend),
        },
    )


SIZES = [("grpc.max_send_message_length", 8 << 20), ("grpc.max_receive_message_length", 8 << 20)]


@pytest.fixture(scope="module")
async def backend() -> AsyncIterator[Backend]:
    server = grpc.aio.server(options=SIZES)
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    state = Backend(target=f"127.0.0.1:{port}", health=servicer)
    server.add_generic_rpc_handlers((backend_handlers(state),))
    await servicer.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
    await server.start()
    yield state
    await server.stop(0)


@pytest.fixture(scope="module")
async def gateway(backend: Backend) -> AsyncIterator[ServiceHost]:
    descriptors = test_descriptors()
    settings = load_settings(
        "gateway",
        {
            "CALCWIRE_LISTEN": "127.0.0.1:0",
            "CALCWIRE_HEALTH_INTERVAL_SECONDS": "0.1",
            "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "1",
        },
    )
    spec = gateway_spec(
        {
            SERVICE: (descriptors[SERVICE], backend.target),
            OTHER: (descriptors[OTHER], f"127.0.0.1:{free_port()}"),  # nobody listens there
        }
    )
    host = ServiceHost(spec, settings)
    await host.start()
    yield host
    await host.stop()


@pytest.fixture(scope="module")
async def channel(gateway: ServiceHost) -> AsyncIterator[grpc.aio.Channel]:
    options = [*SIZES, ("grpc.primary_user_agent", "calcwire-test-client")]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{gateway.port}", options=options) as channel:
        yield channel


def path(method: str) -> str:
    return f"/{SERVICE}/{method}"


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
        self, channel: grpc.aio.Channel, backend: Backend
    ) -> None:
        # Not a valid protobuf message: the gateway must not care.
        call = channel.unary_unary(path("Unary"))(
            b"\xff\xfe raw",
            metadata=(("x-test-id", "unary"), ("x-custom", "v"), ("x-blob-bin", b"\x01\x02")),
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

    async def test_client_request_id_is_kept(
        self, channel: grpc.aio.Channel, backend: Backend
    ) -> None:
        await channel.unary_unary(path("Unary"))(
            b"", metadata=(("x-test-id", "rid"), ("x-request-id", "r-1")), timeout=5
        )
        assert backend.metadata["rid"]["x-request-id"] == "r-1"

    async def test_client_stream(self, channel: grpc.aio.Channel) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for chunk in (b"a", b"b", b"c"):
                yield chunk

        assert await channel.stream_unary(path("Collect"))(chunks(), timeout=5) == b"a|b|c"

    async def test_server_stream_of_large_messages(self, channel: grpc.aio.Channel) -> None:
        call = channel.unary_stream(path("Repeat"))(f"3,{BIG}".encode(), timeout=20)
        received = [message async for message in call]
        assert [(len(m), m[:1]) for m in received] == [(BIG, b"A"), (BIG, b"B"), (BIG, b"C")]

    async def test_bidirectional_messages_flow_one_by_one(self, channel: grpc.aio.Channel) -> None:
        call = channel.stream_stream(path("Chat"))(timeout=5)
        for word in (b"one", b"two", b"three"):
            await call.write(word)
            assert await call.read() == word.upper()  # answered before the next is sent
        await call.done_writing()
        assert await call.code() == grpc.StatusCode.OK

    async def test_error_status_and_details_pass_unchanged(self, channel: grpc.aio.Channel) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(path("Fail"))(b"", timeout=5)
        error = caught.value
        assert error.code() == grpc.StatusCode.NOT_FOUND
        assert error.details() == "no model m1"
        assert error_reason(error) == "MODEL_NOT_FOUND"
        assert ("x-backend-trailer", "t") in tuple(error.trailing_metadata())

    async def test_unknown_method_is_unimplemented(self, channel: grpc.aio.Channel) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(path("NoSuchMethod"))(b"", timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED

    async def test_unreachable_backend_is_unavailable(self, channel: grpc.aio.Channel) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(f"/{OTHER}/Ping")(b"", timeout=5)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


class TestDeadlinesAndCancellation:
    async def test_deadline_reaches_the_backend(
        self, channel: grpc.aio.Channel, backend: Backend
    ) -> None:
        await channel.unary_unary(path("Unary"))(
            b"", metadata=(("x-test-id", "deadline"),), timeout=3
        )
        left = backend.time_left["deadline"]
        # gRPC rounds the grpc-timeout header up, so a little over 3 s can arrive.
        assert left is not None and 2 < left <= 3.1
        await channel.unary_unary(path("Unary"))(b"", metadata=(("x-test-id", "no-deadline"),))
        assert backend.time_left["no-deadline"] is None

    async def test_expired_deadline_cancels_the_backend_call(
        self, channel: grpc.aio.Channel, backend: Backend
    ) -> None:
        call = channel.unary_stream(path("Endless"))(
            b"", metadata=(("x-test-id", "expire"),), timeout=0.5
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for _ in call:
                pass
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        await asyncio.wait_for(backend.cancelled["expire"].wait(), 5)

    async def test_client_cancel_reaches_the_backend(
        self, channel: grpc.aio.Channel, backend: Backend
    ) -> None:
        call = channel.unary_stream(path("Endless"))(b"", metadata=(("x-test-id", "cancel"),))
        assert await call.read() == b"first"
        call.cancel()
        await asyncio.wait_for(backend.cancelled["cancel"].wait(), 5)

    async def test_backend_cancel_reaches_the_client(self, channel: grpc.aio.Channel) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(path("CancelledByBackend"))(b"", timeout=5)
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
