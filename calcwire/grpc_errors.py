"""Domain errors to gRPC statuses, in one place, and back again on the client.

Server side: :class:`ErrorInterceptor` (installed by the server bootstrap on
every service) turns what escapes a handler into a status:

==============================  ===================  =====================================
raised                          status code          ErrorInfo reason
==============================  ===================  =====================================
``calcwire.errors.X``           see :data:`CODES`    ``exc.reason`` (+ ``exc.metadata``)
PostgreSQL / NATS unreachable   UNAVAILABLE          ``DEPENDENCY_UNAVAILABLE``
anything else                   INTERNAL             ``INTERNAL`` (generic message, logged)
==============================  ===================  =====================================

Every non-OK status carries a ``google.rpc.Status`` in the
``grpc-status-details-bin`` trailer with one ``google.rpc.ErrorInfo`` detail
(domain ``calcwire.dev``). Internal errors are logged with the request's
context and their traceback; the client gets "internal error" and the request
id, never the traceback.

Client side: :func:`error_reason` and :func:`error_info` read the ErrorInfo of
a failed call (``grpc.aio.AioRpcError`` or ``grpc.RpcError``).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Final, TypeAlias, TypeVar, cast

import asyncpg
import grpc
import grpc.aio
import nats.errors
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from calcwire import errors
from calcwire.logs import get_logger

__all__ = [
    "CODES",
    "DOMAIN",
    "STATUS_DETAILS_KEY",
    "AroundInterceptor",
    "ErrorInterceptor",
    "error_info",
    "error_reason",
    "status_for",
    "wrap_handler",
]

DOMAIN: Final = "calcwire.dev"
STATUS_DETAILS_KEY: Final = "grpc-status-details-bin"

# Most specific class first is not needed: lookup walks each exception's MRO.
CODES: Final[Mapping[type[errors.CalcwireError], grpc.StatusCode]] = {
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Cancelled: grpc.StatusCode.CANCELLED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}

# A dependency that went away under a request: the client may retry.
_DEPENDENCY_ERRORS: Final = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.TooManyConnectionsError,
    nats.errors.ConnectionClosedError,
    nats.errors.NoServersError,
    nats.errors.NoRespondersError,
)

log = get_logger(__name__)


def _status(
    code: grpc.StatusCode, message: str, reason: str, metadata: Mapping[str, str]
) -> grpc.Status:
    info = error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN, metadata=dict(metadata))
    detail = any_pb2.Any()
    detail.Pack(info)
    proto = status_pb2.Status(code=code.value[0], message=message, details=[detail])
    status: grpc.Status = rpc_status.to_status(proto)
    return status


def status_for(exc: BaseException, *, request_id: str | None = None) -> grpc.Status:
    """The status a client gets for ``exc`` escaping a handler."""
    if isinstance(exc, errors.CalcwireError):
        code = next(
            (CODES[cls] for cls in type(exc).__mro__ if cls in CODES), grpc.StatusCode.UNKNOWN
        )
        return _status(code, exc.message, exc.reason, exc.metadata)
    extra = {"request_id": request_id} if request_id else {}
    if isinstance(exc, _DEPENDENCY_ERRORS):
        return _status(
            grpc.StatusCode.UNAVAILABLE,
            "a service calcwire depends on is unavailable; retry later",
            "DEPENDENCY_UNAVAILABLE",
            extra,
        )
    return _status(grpc.StatusCode.INTERNAL, "internal error", "INTERNAL", extra)


@asynccontextmanager
async def _mapped_errors(
    context: grpc.aio.ServicerContext[Any, Any], method: str
) -> AsyncIterator[None]:
    try:
        yield
    except grpc.aio.AbortError:
        raise  # the handler set its own status
    except errors.CalcwireError as exc:
        log.info("request failed", reason=exc.reason, error=exc.message)
        await context.abort_with_status(status_for(exc))
    except Exception as exc:
        request_id = _request_id(context)
        if isinstance(exc, _DEPENDENCY_ERRORS):
            log.warning("dependency unavailable", error=f"{type(exc).__name__}: {exc}")
        else:
            log.exception("unexpected error in handler", rpc_method=method)
        await context.abort_with_status(status_for(exc, request_id=request_id))


def _request_id(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == "x-request-id" and isinstance(value, str):
            return value
    return None


Around: TypeAlias = (
    "Callable[[grpc.aio.ServicerContext[Any, Any], str], AbstractAsyncContextManager[None]]"
)
_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


def wrap_handler(
    handler: grpc.RpcMethodHandler[_Req, _Resp], around: Around, method: str
) -> grpc.RpcMethodHandler[_Req, _Resp]:
    """``handler`` with every call run inside ``around(context, method)``.

    Works for the four call kinds and for streaming handlers written either as
    async generators or as coroutines that call ``context.write``.
    """
    factory: Callable[..., grpc.RpcMethodHandler[_Req, _Resp]]
    behavior: Callable[..., Any] | None
    if handler.request_streaming and handler.response_streaming:
        behavior, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    elif handler.request_streaming:
        behavior, factory = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    elif handler.response_streaming:
        behavior, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    else:
        behavior, factory = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    assert behavior is not None
    original = cast(Callable[..., Any], behavior)  # the stubs only know synchronous handlers

    if inspect.isasyncgenfunction(original):

        async def wrapped_stream(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            async with around(context, method):
                async for item in original(request, context):
                    yield item

        new_behavior: Callable[..., Any] = wrapped_stream
    else:

        async def wrapped(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            async with around(context, method):
                result = original(request, context)
                if inspect.isawaitable(result):
                    result = await result
                return result

        new_behavior = wrapped

    return factory(
        new_behavior,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class AroundInterceptor(grpc.aio.ServerInterceptor):
    """Runs every call of the server inside :meth:`around` (an async context manager),
    or every call of the methods :meth:`applies_to` accepts."""

    def applies_to(self, method: str) -> bool:
        """Whether calls of ``method`` (``/package.Service/Method``) run inside :meth:`around`."""
        return True

    def around(
        self, context: grpc.aio.ServicerContext[Any, Any], method: str
    ) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Req, _Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Req, _Resp] | None:
        handler = await continuation(handler_call_details)
        if handler is None or not self.applies_to(handler_call_details.method):
            return handler
        return wrap_handler(handler, self.around, handler_call_details.method)


class ErrorInterceptor(AroundInterceptor):
    """Maps exceptions escaping any handler of the server, per the module's table."""

    def around(
        self, context: grpc.aio.ServicerContext[Any, Any], method: str
    ) -> AbstractAsyncContextManager[None]:
        return _mapped_errors(context, method)


# --------------------------------------------------------------------------- client side


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ``google.rpc.ErrorInfo`` a failed call carries, if any."""
    trailing_metadata = getattr(error, "trailing_metadata", None)
    trailers: Iterable[tuple[str, str | bytes]] = (
        trailing_metadata() if trailing_metadata else None
    ) or ()
    for key, value in trailers:
        if key != STATUS_DETAILS_KEY:
            continue
        status = status_pb2.Status.FromString(value if isinstance(value, bytes) else value.encode())
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                return info
    return None


def error_reason(error: grpc.RpcError) -> str | None:
    """The ErrorInfo reason of a failed call (``"NOT_FOUND"``, ``"INVALID_WORKBOOK"``...)."""
    info = error_info(error)
    return info.reason if info is not None else None
