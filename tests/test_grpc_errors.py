"""Domain errors become gRPC statuses with ErrorInfo, through a real grpc.aio server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import grpc
import grpc.aio
import pytest

from calcwire import errors
from calcwire.grpc_errors import CODES, DOMAIN, ErrorInterceptor, error_info, error_reason
from calcwire.server import RequestContextInterceptor

SERVICE = "calcwire.test.v1.Failing"

# Every domain error class the tree defines, with the status it must map to.
CASES = [
    (
        errors.InvalidArgument("bad page token", reason="INVALID_PAGE_TOKEN"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_PAGE_TOKEN",
    ),
    (
        errors.InvalidWorkbook("not a zip", reason="NOT_A_ZIP"),
        grpc.StatusCode.INVALID_ARGUMENT,
        "NOT_A_ZIP",
    ),
    (errors.NotFound("no model m1"), grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    (errors.AlreadyExists("exists"), grpc.StatusCode.ALREADY_EXISTS, "ALREADY_EXISTS"),
    (
        errors.FailedPrecondition("not imported yet"),
        grpc.StatusCode.FAILED_PRECONDITION,
        "FAILED_PRECONDITION",
    ),
    (
        errors.ResourceExhausted("too big", reason="FILE_TOO_LARGE"),
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "FILE_TOO_LARGE",
    ),
    (errors.Unauthenticated("no key"), grpc.StatusCode.UNAUTHENTICATED, "UNAUTHENTICATED"),
    (errors.PermissionDenied("no secret"), grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED"),
    (errors.Cancelled("job cancelled"), grpc.StatusCode.CANCELLED, "CANCELLED"),
    (errors.Unavailable("db down"), grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE"),
]
ERRORS: dict[str, BaseException] = {type(e).__name__ + ":" + e.reason: e for e, _, _ in CASES}  # type: ignore[attr-defined]
ERRORS["unexpected"] = KeyError("secret internal detail")
ERRORS["dependency"] = asyncpg.ConnectionDoesNotExistError("connection was closed")


def _error_for(request: bytes) -> BaseException:
    return ERRORS[request.decode()]


async def unary(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    raise _error_for(request)


async def server_stream(
    request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]
) -> AsyncIterator[bytes]:
    yield b"first"
    raise _error_for(request)


async def written_stream(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> None:
    await context.write(b"first")
    raise _error_for(request)


async def client_stream(
    requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[bytes, bytes]
) -> bytes:
    async for request in requests:
        raise _error_for(request)
    return b""


async def bidi(
    requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext[bytes, bytes]
) -> AsyncIterator[bytes]:
    async for request in requests:
        yield b"ok"
        raise _error_for(request)


async def own_abort(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    await context.abort(grpc.StatusCode.OUT_OF_RANGE, "handler's own status")
    return b""


@pytest.fixture(scope="module")
async def target() -> AsyncIterator[str]:
    server = grpc.aio.server(interceptors=[RequestContextInterceptor(), ErrorInterceptor()])
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "WrittenStream": grpc.unary_stream_rpc_method_handler(written_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
        "OwnAbort": grpc.unary_unary_rpc_method_handler(own_abort),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop(0)


@pytest.fixture(scope="module")
async def channel(target: str) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(target) as channel:
        yield channel


async def call_unary(channel: grpc.aio.Channel, key: str) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await channel.unary_unary(f"/{SERVICE}/Unary")(key.encode(), timeout=5)
    return caught.value


def case_ids() -> Iterator[str]:
    for exc, _, _ in CASES:
        yield type(exc).__name__


class TestDomainErrors:
    def test_every_error_class_has_a_code(self) -> None:
        tree = {
            cls
            for cls in vars(errors).values()
            if isinstance(cls, type) and issubclass(cls, errors.CalcwireError)
        }
        tree.discard(errors.CalcwireError)
        assert {type(exc) for exc, _, _ in CASES} == tree
        assert all(any(base in CODES for base in cls.__mro__) for cls in tree)

    @pytest.mark.parametrize(("exc", "code", "reason"), CASES, ids=list(case_ids()))
    async def test_unary(
        self,
        channel: grpc.aio.Channel,
        exc: errors.CalcwireError,
        code: grpc.StatusCode,
        reason: str,
    ) -> None:
        error = await call_unary(channel, f"{type(exc).__name__}:{exc.reason}")
        assert error.code() == code
        assert error.details() == exc.message
        assert error_reason(error) == reason
        info = error_info(error)
        assert info is not None and info.domain == DOMAIN

    async def test_metadata_reaches_the_client(self, channel: grpc.aio.Channel) -> None:
        ERRORS["meta"] = errors.NotFound(
            "no model", reason="MODEL_NOT_FOUND", metadata={"model": "models/m1"}
        )
        error = await call_unary(channel, "meta")
        info = error_info(error)
        assert info is not None
        assert (info.reason, dict(info.metadata)) == ("MODEL_NOT_FOUND", {"model": "models/m1"})

    @pytest.mark.parametrize("method", ["ServerStream", "WrittenStream"])
    async def test_server_stream_after_a_message(
        self, channel: grpc.aio.Channel, method: str
    ) -> None:
        call = channel.unary_stream(f"/{SERVICE}/{method}")(b"NotFound:NOT_FOUND", timeout=5)
        received = []
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            async for message in call:
                received.append(message)
        assert received == [b"first"]
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND
        assert error_reason(caught.value) == "NOT_FOUND"

    async def test_client_stream(self, channel: grpc.aio.Channel) -> None:
        async def requests() -> AsyncIterator[bytes]:
            yield b"InvalidWorkbook:NOT_A_ZIP"

        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.stream_unary(f"/{SERVICE}/ClientStream")(requests(), timeout=5)
        assert (caught.value.code(), error_reason(caught.value)) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "NOT_A_ZIP",
        )

    async def test_bidi(self, channel: grpc.aio.Channel) -> None:
        call = channel.stream_stream(f"/{SERVICE}/Bidi")(timeout=5)
        await call.write(b"Cancelled:CANCELLED")
        assert await call.read() == b"ok"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call.read()
        assert error_reason(caught.value) == "CANCELLED"

    async def test_handler_abort_is_left_alone(self, channel: grpc.aio.Channel) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(f"/{SERVICE}/OwnAbort")(b"", timeout=5)
        assert caught.value.code() == grpc.StatusCode.OUT_OF_RANGE
        assert caught.value.details() == "handler's own status"
        assert error_reason(caught.value) is None


class TestUnexpectedErrors:
    async def test_internal_without_details_of_the_failure(self, channel: grpc.aio.Channel) -> None:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await channel.unary_unary(f"/{SERVICE}/Unary")(
                b"unexpected", timeout=5, metadata=(("x-request-id", "req-42"),)
            )
        error = caught.value
        assert error.code() == grpc.StatusCode.INTERNAL
        assert error.details() == "internal error"
        assert "secret" not in str(error.trailing_metadata()) and "Traceback" not in error.details()
        info = error_info(error)
        assert info is not None
        assert (info.reason, dict(info.metadata)) == ("INTERNAL", {"request_id": "req-42"})

    async def test_lost_dependency_is_unavailable(self, channel: grpc.aio.Channel) -> None:
        error = await call_unary(channel, "dependency")
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert error_reason(error) == "DEPENDENCY_UNAVAILABLE"

    async def test_server_keeps_serving_after_failures(self, channel: grpc.aio.Channel) -> None:
        results = await asyncio.gather(*(call_unary(channel, "unexpected") for _ in range(20)))
        assert {e.code() for e in results} == {grpc.StatusCode.INTERNAL}


class TestClientSide:
    def test_error_without_details_has_no_reason(self) -> None:
        error = grpc.aio.AioRpcError(
            grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata()
        )
        assert error_reason(error) is None
