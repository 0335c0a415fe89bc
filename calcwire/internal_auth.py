"""Backends take the tenant of a call only from a caller that knows the internal secret.

:class:`InternalAuthInterceptor` is installed by the server bootstrap on every
backend (import_svc, eval_svc, validation_svc), in front of every method except
health and reflection (:data:`calcwire.tenancy.OPEN_SERVICES`):

========================================  =================  =========================
call                                      answer             ErrorInfo reason
========================================  =================  =========================
no ``x-calcwire-internal-secret``, or     UNAUTHENTICATED    ``INTERNAL_SECRET_INVALID``
a wrong one
the right secret, no or an invalid        INVALID_ARGUMENT   ``TENANT_MISSING`` /
``x-calcwire-tenant``                                        ``INVALID_TENANT``
the right secret and a valid tenant       the handler runs;  :func:`verified_tenant` is
                                                             the tenant
========================================  =================  =========================

The secret is compared in constant time. The check runs before the method is
looked up, so a caller without the secret learns nothing, not even which
methods exist.

Without a configured secret (``CALCWIRE_INTERNAL_SECRET`` empty; refused in
production by :mod:`calcwire.config`) a backend trusts any caller: the tenant
is ``x-calcwire-tenant`` when given, else ``default``. That keeps a backend
started by hand in development easy to call; the local stack and the test
harness always set a secret.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import grpc
import grpc.aio

from calcwire import errors
from calcwire.grpc_errors import wrap_handler
from calcwire.logs import bind_ids, get_logger
from calcwire.tenancy import (
    DEFAULT_TENANT,
    INTERNAL_SECRET_METADATA_KEY,
    TENANT_METADATA_KEY,
    check_tenant,
    is_open_method,
)

__all__ = ["InternalAuthInterceptor", "secrets_match", "verified_tenant"]

log = get_logger(__name__)

_tenant: ContextVar[str | None] = ContextVar("calcwire_verified_tenant", default=None)

_Req = TypeVar("_Req")
_Resp = TypeVar("_Resp")


def verified_tenant() -> str | None:
    """The tenant of the call being served, as the interceptor established it; None
    outside a call that passed :class:`InternalAuthInterceptor`."""
    return _tenant.get()


def secrets_match(given: str | bytes | None, expected: str) -> bool:
    """Constant-time comparison (the time taken does not reveal how much matched)."""
    if given is None:
        return False
    if isinstance(given, str):
        given = given.encode()
    return hmac.compare_digest(given, expected.encode())


def _value(metadata: Iterable[tuple[str, str | bytes]] | None, key: str) -> str | bytes | None:
    for name, value in metadata or ():
        if name == key:
            return value
    return None


def _tenant_of(metadata: Iterable[tuple[str, str | bytes]] | None, *, required: bool) -> str:
    claimed = _value(metadata, TENANT_METADATA_KEY)
    if claimed is None or claimed == "":
        if required:
            raise errors.InvalidArgument(
                "the call carries the internal secret but no x-calcwire-tenant",
                reason="TENANT_MISSING",
            )
        return DEFAULT_TENANT
    if isinstance(claimed, bytes):
        claimed = claimed.decode("utf-8", "replace")
    return check_tenant(claimed)


class InternalAuthInterceptor(grpc.aio.ServerInterceptor):
    """Refuses calls without the internal secret; records the tenant of those with it."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def _establish(self, metadata: Iterable[tuple[str, str | bytes]] | None) -> str:
        """The call's tenant, or the domain error that refuses it."""
        if not self._secret:
            return _tenant_of(metadata, required=False)
        if not secrets_match(_value(metadata, INTERNAL_SECRET_METADATA_KEY), self._secret):
            raise errors.Unauthenticated(
                "this service takes calls from calcwire's gateway and services only "
                "(missing or wrong internal secret)",
                reason="INTERNAL_SECRET_INVALID",
            )
        return _tenant_of(metadata, required=True)

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[_Req, _Resp] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[_Req, _Resp] | None:
        method = handler_call_details.method
        if is_open_method(method):
            return await continuation(handler_call_details)
        try:
            tenant = self._establish(handler_call_details.invocation_metadata)
            refusal: errors.CalcwireError | None = None
        except errors.CalcwireError as exc:
            tenant, refusal = "", exc
        handler = await continuation(handler_call_details)
        if handler is None:
            if refusal is None:
                return None  # UNIMPLEMENTED, for a caller allowed to know
            handler = grpc.unary_unary_rpc_method_handler(_refuse)
        return wrap_handler(handler, _around(tenant, refusal), method)


async def _refuse(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
    raise AssertionError("unreachable: the interceptor refuses the call first")


def _around(
    tenant: str, refusal: errors.CalcwireError | None
) -> Callable[[grpc.aio.ServicerContext[Any, Any], str], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def around(
        context: grpc.aio.ServicerContext[Any, Any], method: str
    ) -> AsyncIterator[None]:
        if refusal is not None:
            log.warning("call refused", reason=refusal.reason, peer=context.peer())
            raise refusal
        # gRPC serves each call in its own task, so the value never outlives the call.
        _tenant.set(tenant)
        bind_ids(tenant=tenant)
        yield

    return around
