"""A test-only backend for the gateway's tests, and a gateway in front of it.

``calcwire.test.v1.EchoService`` is built from a descriptor made here and served
with generic handlers on a real grpc.aio server (no calcwire bootstrap, so it
records exactly what reaches it: metadata, deadline, cancellation). The gateway
is the real one (``gateway.app.gateway_spec``), started in-process by the
server bootstrap on the test database, with its method table read from that
descriptor exactly as it reads the public services'.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import grpc
import grpc.aio
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from calcwire import errors
from calcwire.config import load_settings
from calcwire.devstack import free_port
from calcwire.grpc_errors import status_for
from calcwire.server import ServiceHost
from gateway.app import gateway_spec

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
    ended: dict[str, asyncio.Event] = dataclasses.field(default_factory=dict)

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
        """Joins the messages; a first message ``refuse`` ends the call at once with an
        error (as an over-limit upload does) while the client is still sending."""
        test_id = backend.observe(context)
        ended = backend.ended.setdefault(test_id, asyncio.Event())
        received = []
        try:
            async for request in requests:
                if not received and request == b"refuse":
                    status = status_for(errors.ResourceExhausted("too big", reason="FILE_TOO_LARGE"))
                    await context.abort(status.code, status.details, status.trailing_metadata)
                received.append(request)
        finally:
            ended.set()
        return b"|".join(received)

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
SECRET = "gateway-tests-internal-secret"


def path(method: str) -> str:
    return f"/{SERVICE}/{method}"


@asynccontextmanager
async def echo_backend() -> AsyncIterator[Backend]:
    server = grpc.aio.server(options=SIZES)
    servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    state = Backend(target=f"127.0.0.1:{port}", health=servicer)
    server.add_generic_rpc_handlers((backend_handlers(state),))
    await servicer.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
    await server.start()
    try:
        yield state
    finally:
        await server.stop(0)


@asynccontextmanager
async def gateway_before(
    backend: Backend, database_url: str, env: Mapping[str, str] | None = None
) -> AsyncIterator[ServiceHost]:
    """The real gateway, in-process, forwarding EchoService to ``backend`` (and
    NobodyService to a port nobody listens on); ``Collect`` counts as an upload."""
    descriptors = test_descriptors()
    settings = load_settings(
        "gateway",
        {
            "CALCWIRE_LISTEN": "127.0.0.1:0",
            "DATABASE_URL": database_url,
            "CALCWIRE_INTERNAL_SECRET": SECRET,
            "CALCWIRE_HEALTH_INTERVAL_SECONDS": "0.1",
            "CALCWIRE_SHUTDOWN_GRACE_SECONDS": "1",
            "CALCWIRE_RATE_LIMIT_PER_SECOND": "0",
            **(env or {}),
        },
    )
    spec = gateway_spec(
        {
            SERVICE: (descriptors[SERVICE], backend.target),
            OTHER: (descriptors[OTHER], f"127.0.0.1:{free_port()}"),  # nobody listens there
        },
        upload_methods={path("Collect")},
    )
    host = ServiceHost(spec, settings)
    await host.start()
    try:
        yield host
    finally:
        await host.stop()
