"""Forward calls to a backend without decoding them.

Each public method gets a generic handler with identity serializers: request
and response messages stay the bytes the client and the backend sent. What a
call carries besides its messages passes through unchanged:

- request metadata, except hop-by-hop and transport headers (``:authority``,
  ``user-agent``, ``te``, ``grpc-*``...) and credentials: the client's
  ``authorization`` stays at the gateway, and any ``x-calcwire-tenant`` or
  ``x-calcwire-internal-secret`` a client sends is dropped; the gateway adds
  its own (the authenticated key's tenant and the internal secret, see
  :mod:`calcwire.internal_client`), and a request id when the client sent
  none, so the backend's log lines match the gateway's;
- the deadline (the time left when the call reaches the backend);
- cancellation, both ways: a client that goes away cancels the backend call,
  a backend that cancels ends the client's call with CANCELLED;
- response headers, trailers, and the status with its details (the
  ``grpc-status-details-bin`` trailer carrying ErrorInfo).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import Any, NoReturn, TypeAlias

import grpc
import grpc.aio

from calcwire.internal_client import InternalChannel, Metadata
from calcwire.tenancy import INTERNAL_SECRET_METADATA_KEY, TENANT_METADATA_KEY
from gateway.auth import AUTHORIZATION_METADATA_KEY
from gateway.routes import Route

__all__ = ["forwarding_handler"]

Context: TypeAlias = "grpc.aio.ServicerContext[bytes, bytes]"

# Connection-level headers and those gRPC sets itself: never copied from one hop to the next.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "upgrade",
        "te",
        "host",
        "user-agent",
        "content-type",
        "content-length",
    }
)


# What a client may never pass to a backend: its own credentials, or claims only the gateway makes.
_CREDENTIALS = frozenset(
    {AUTHORIZATION_METADATA_KEY, TENANT_METADATA_KEY, INTERNAL_SECRET_METADATA_KEY}
)

TenantOf = Callable[[], str]


def _end_to_end(metadata: Any) -> tuple[tuple[str, str | bytes], ...]:
    kept = []
    for key, value in metadata or ():
        name = key.lower()
        if name.startswith((":", "grpc-")) or name in _HOP_BY_HOP:
            continue
        kept.append((name, value))
    return tuple(kept)


def _trailers(metadata: Any) -> tuple[tuple[str, str | bytes], ...]:
    """Trailers to pass back: the backend's, with its status details but no other grpc-* header."""
    kept = []
    for key, value in metadata or ():
        name = key.lower()
        if name == "grpc-status-details-bin" or not (
            name.startswith((":", "grpc-")) or name in _HOP_BY_HOP
        ):
            kept.append((name, value))
    return tuple(kept)


def _timeout(context: Context) -> float | None:
    left = context.time_remaining()
    return None if left is None else max(left, 0.0)


class _Forward:
    """State of one forwarded call: whether response headers went out yet."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.headers_sent = False

    async def send_headers(self, call: grpc.aio.Call) -> None:
        if self.headers_sent:
            return
        self.headers_sent = True
        headers = _end_to_end(await call.initial_metadata())
        if headers:
            await self.context.send_initial_metadata(headers)

    def set_trailers(self, trailers: Any) -> None:
        kept = _trailers(trailers)
        if kept:
            self.context.set_trailing_metadata(kept)

    async def fail(self, error: grpc.aio.AioRpcError) -> NoReturn:
        if not self.headers_sent:
            self.headers_sent = True
            headers = _end_to_end(error.initial_metadata())
            if headers:
                await self.context.send_initial_metadata(headers)
        await self.context.abort(
            error.code(), error.details() or "", _trailers(error.trailing_metadata())
        )
        raise AssertionError("unreachable: abort raises")


async def _single_response(call: Any, state: _Forward) -> bytes:
    """Await a unary-response call, then pass its headers and trailers on."""
    try:
        response: bytes = await call
    except grpc.aio.AioRpcError as error:
        await state.fail(error)
    await state.send_headers(call)
    state.set_trailers(await call.trailing_metadata())
    return response


async def _relay_stream(call: Any, state: _Forward) -> AsyncIterator[bytes]:
    """Relay a streaming-response call message by message; cancel it if the client goes."""
    try:
        await state.send_headers(call)
        async for response in call:
            yield response
        state.set_trailers(await call.trailing_metadata())
    except grpc.aio.AioRpcError as error:
        await state.fail(error)
    finally:
        call.cancel()  # no-op once finished; stops the backend call when the client went away


UnaryHandler = Callable[[Any, "Context"], Awaitable[bytes]]
StreamHandler = Callable[[Any, "Context"], AsyncIterator[bytes]]


class _Target:
    """Where a forwarded call goes, and what it carries."""

    def __init__(self, backend: InternalChannel, tenant_of: TenantOf) -> None:
        self.backend = backend
        self.tenant_of = tenant_of

    def metadata(self, context: Context) -> Metadata:
        """The client's end-to-end metadata without credentials, then the gateway's own."""
        forwarded = tuple(
            (key, value)
            for key, value in _end_to_end(context.invocation_metadata())
            if key not in _CREDENTIALS
        )
        return self.backend.metadata(self.tenant_of(), forwarded)


def _unary_unary(
    forward_to: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes], target: _Target
) -> UnaryHandler:
    async def forward(request: bytes, context: Context) -> bytes:
        call = forward_to(request, metadata=target.metadata(context), timeout=_timeout(context))
        return await _single_response(call, _Forward(context))

    return forward


def _stream_unary(
    forward_to: grpc.StreamUnaryMultiCallable[bytes, bytes], target: _Target
) -> UnaryHandler:
    """Client streams go through grpcio's blocking client, in a worker thread.

    Its asyncio client loses the backend's status when the backend ends the call
    while requests are still being sent, and reports INTERNAL "Internal error
    from Core" instead (grpc/grpc#36066): an upload refused as its bytes arrive
    (FILE_TOO_LARGE) would reach the client as an internal error. The blocking
    client keeps the backend's status; the client's messages are handed to it
    one by one from the event loop.
    """

    async def forward(requests: AsyncIterator[bytes], context: Context) -> bytes:
        loop = asyncio.get_running_loop()

        async def next_request() -> bytes:
            return await anext(requests)

        def pull() -> Iterator[bytes]:
            while True:
                try:
                    yield asyncio.run_coroutine_threadsafe(next_request(), loop).result()
                except StopAsyncIteration:
                    return

        call = forward_to.future(
            pull(), metadata=target.metadata(context), timeout=_timeout(context)
        )
        done = loop.create_future()

        def settle() -> None:
            if not done.done():
                done.set_result(None)

        def on_done(_: object) -> None:
            loop.call_soon_threadsafe(settle)

        call.add_done_callback(on_done)
        try:
            await done
        except asyncio.CancelledError:
            call.cancel()  # the client went away: so does the backend call
            raise
        headers = _end_to_end(call.initial_metadata())
        if headers:
            await context.send_initial_metadata(headers)
        trailers = _trailers(call.trailing_metadata())
        if call.code() != grpc.StatusCode.OK:
            await context.abort(call.code(), call.details() or "", trailers)
        if trailers:
            context.set_trailing_metadata(trailers)
        response: bytes = call.result()
        return response

    return forward


def _unary_stream(
    forward_to: grpc.aio.UnaryStreamMultiCallable[bytes, bytes], target: _Target
) -> StreamHandler:
    async def forward(request: bytes, context: Context) -> AsyncIterator[bytes]:
        call = forward_to(request, metadata=target.metadata(context), timeout=_timeout(context))
        async for response in _relay_stream(call, _Forward(context)):
            yield response

    return forward


def _stream_stream(
    forward_to: grpc.aio.StreamStreamMultiCallable[bytes, bytes], target: _Target
) -> StreamHandler:
    async def forward(requests: AsyncIterator[bytes], context: Context) -> AsyncIterator[bytes]:
        call = forward_to(requests, metadata=target.metadata(context), timeout=_timeout(context))
        async for response in _relay_stream(call, _Forward(context)):
            yield response

    return forward


def forwarding_handler(
    backend: InternalChannel, routes: Sequence[Route], tenant_of: TenantOf
) -> grpc.GenericRpcHandler:
    """A generic handler forwarding each of ``routes`` (all of one service) to ``backend``,
    acting for the tenant ``tenant_of()`` names (called within each call).

    No serializers on either side: messages stay bytes from client to backend.
    """
    target = _Target(backend, tenant_of)
    channel = backend.channel
    services = {route.service for route in routes}
    if len(services) != 1:
        raise ValueError(
            f"forwarding_handler takes the routes of one service, got {sorted(services)}"
        )
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for route in routes:
        path = route.path
        if route.kind == "unary_unary":
            handlers[route.method] = grpc.unary_unary_rpc_method_handler(
                _unary_unary(channel.unary_unary(path), target)
            )
        elif route.kind == "stream_unary":
            handlers[route.method] = grpc.stream_unary_rpc_method_handler(
                _stream_unary(backend.blocking.stream_unary(path), target)
            )
        elif route.kind == "unary_stream":
            handlers[route.method] = grpc.unary_stream_rpc_method_handler(
                _unary_stream(channel.unary_stream(path), target)
            )
        else:
            handlers[route.method] = grpc.stream_stream_rpc_method_handler(
                _stream_stream(channel.stream_stream(path), target)
            )
    return grpc.method_handlers_generic_handler(services.pop(), handlers)
