"""The gateway's door: every public call shows an API key, within its key's limits.

:class:`GatewayAuthInterceptor` runs in front of every method the gateway
serves except health and reflection (:data:`calcwire.tenancy.OPEN_SERVICES`):

1. ``authorization: Bearer <key>`` is checked (:class:`gateway.keys.Authenticator`):
   UNAUTHENTICATED with ``API_KEY_MISSING``, ``API_KEY_INVALID`` or ``API_KEY_REVOKED``;
2. the key's rate limit takes a token: RESOURCE_EXHAUSTED ``RATE_LIMITED``;
3. an upload holds one of the key's upload slots until it ends:
   RESOURCE_EXHAUSTED ``TOO_MANY_UPLOADS``;
4. the call runs with :func:`call_tenant` set to the key's tenant, which the
   forwarding passes to the backend.

Errors raised here become statuses in the bootstrap's error interceptor, which
wraps this one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from typing import Any

import grpc.aio

from calcwire import errors
from calcwire.grpc_errors import AroundInterceptor
from calcwire.logs import bind_ids
from calcwire.tenancy import is_open_method
from gateway.keys import Authenticator, Principal
from gateway.limits import RateLimiter, UploadLimiter

__all__ = ["AUTHORIZATION_METADATA_KEY", "GatewayAuthInterceptor", "call_tenant"]

AUTHORIZATION_METADATA_KEY = "authorization"

_principal: ContextVar[Principal | None] = ContextVar("calcwire_gateway_principal", default=None)


def call_tenant() -> str:
    """The tenant of the authenticated call being served."""
    principal = _principal.get()
    if principal is None:
        # Only reachable if a forwarding handler were served without the interceptor.
        raise errors.Unauthenticated("call not authenticated", reason="API_KEY_MISSING")
    return principal.tenant


def _authorization(context: grpc.aio.ServicerContext[Any, Any]) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key == AUTHORIZATION_METADATA_KEY:
            return value if isinstance(value, str) else value.decode("utf-8", "replace")
    return None


class GatewayAuthInterceptor(AroundInterceptor):
    """API key, rate limit and upload limit, in that order, for every non-open method."""

    def __init__(
        self,
        authenticator: Authenticator,
        rate_limiter: RateLimiter,
        upload_limiter: UploadLimiter,
        *,
        upload_methods: Collection[str],
    ) -> None:
        self._authenticator = authenticator
        self._rate = rate_limiter
        self._uploads = upload_limiter
        self._upload_methods = frozenset(upload_methods)

    def applies_to(self, method: str) -> bool:
        return not is_open_method(method)

    def around(
        self, context: grpc.aio.ServicerContext[Any, Any], method: str
    ) -> AbstractAsyncContextManager[None]:
        return self._admit(context, method)

    @asynccontextmanager
    async def _admit(
        self, context: grpc.aio.ServicerContext[Any, Any], method: str
    ) -> AsyncIterator[None]:
        principal = await self._authenticator.authenticate(_authorization(context))
        bind_ids(tenant=principal.tenant, key_id=principal.key_id)
        self._rate.take(principal.key_id)
        # gRPC serves each call in its own task, so the value never outlives the call.
        _principal.set(principal)
        if method in self._upload_methods:
            async with self._uploads.slot(principal.key_id):
                yield
        else:
            yield
