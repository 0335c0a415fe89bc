"""Calling a backend from inside calcwire: the one way the gateway and the services do it.

A backend takes a call only with the internal secret, and acts for the tenant
the call names (:mod:`calcwire.internal_auth`). :func:`internal_channel` opens
a channel with calcwire's channel options (and mutual TLS when configured);
:meth:`InternalChannel.metadata` is what every call on it carries: the secret,
the tenant, and the request id of the call or job being served, so that the
log lines of both sides match::

    workbooks = internal_channel(runtime.settings, runtime.settings.import_target)
    registry.add_cleanup(workbooks.close)
    stub = workbooks_pb2_grpc.WorkbookServiceStub(workbooks.channel)
    ...
    # in a handler: the caller's tenant; in a worker: the job's
    reply = await stub.GetModel(
        GetModelRequest(name=model), metadata=workbooks.metadata(tenant), timeout=30
    )

The tenant is always passed explicitly, never taken from the ambient call, so
that a worker acting for a job and a handler acting for its caller read the
same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import grpc
import grpc.aio
import structlog

from calcwire.config import Settings
from calcwire.server import REQUEST_ID_METADATA_KEY, channel_options
from calcwire.tenancy import INTERNAL_SECRET_METADATA_KEY, TENANT_METADATA_KEY, check_tenant
from calcwire.tls import internal_channel_credentials

__all__ = ["InternalChannel", "Metadata", "internal_channel"]

Metadata = tuple[tuple[str, str | bytes], ...]


@dataclass
class InternalChannel:
    """A channel to one backend, and the metadata its calls need.

    ``blocking`` is a second channel to the same backend for grpcio's blocking
    API, made on first use: the gateway forwards client-streaming calls on it,
    because grpcio's asyncio client loses the backend's status when the backend
    ends such a call while requests are still being sent (grpc/grpc#36066).
    """

    channel: grpc.aio.Channel
    target: str
    secret: str = field(repr=False)
    credentials: grpc.ChannelCredentials | None = field(repr=False, default=None)
    options: Sequence[tuple[str, Any]] = field(repr=False, default=())
    _blocking: grpc.Channel | None = field(repr=False, default=None)

    @property
    def blocking(self) -> grpc.Channel:
        if self._blocking is None:
            self._blocking = _open(grpc, self.target, self.credentials, self.options)
        return self._blocking

    def metadata(self, tenant: str, extra: Iterable[tuple[str, str | bytes]] = ()) -> Metadata:
        """Metadata of a call acting for ``tenant``: secret, tenant, request id, then ``extra``.

        ``extra`` may not carry its own tenant or secret (they are dropped); a
        request id in ``extra`` wins over the one from the log context.
        """
        kept = tuple(
            (key, value)
            for key, value in extra
            if key not in (TENANT_METADATA_KEY, INTERNAL_SECRET_METADATA_KEY)
        )
        metadata: Metadata = ((TENANT_METADATA_KEY, check_tenant(tenant)),)
        if self.secret:
            metadata += ((INTERNAL_SECRET_METADATA_KEY, self.secret),)
        if not any(key == REQUEST_ID_METADATA_KEY for key, _ in kept):
            request_id = structlog.contextvars.get_contextvars().get("request_id")
            if request_id:
                metadata += ((REQUEST_ID_METADATA_KEY, str(request_id)),)
        return metadata + kept

    async def close(self) -> None:
        if self._blocking is not None:
            self._blocking.close()
        await self.channel.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


def internal_channel(settings: Settings, target: str) -> InternalChannel:
    """A channel to the backend at ``target`` (``host:port``, e.g. ``settings.import_target``),
    with mutual TLS when ``CALCWIRE_INTERNAL_TLS_*`` is configured."""
    credentials = internal_channel_credentials(settings)
    options = channel_options(settings)
    return InternalChannel(
        channel=_open(grpc.aio, target, credentials, options),
        target=target,
        secret=settings.internal_secret,
        credentials=credentials,
        options=options,
    )


def _open(
    api: Any,
    target: str,
    credentials: grpc.ChannelCredentials | None,
    options: Sequence[tuple[str, Any]],
) -> Any:
    """A channel of ``api`` (``grpc`` or ``grpc.aio``), with TLS when there are credentials."""
    if credentials is None:
        return api.insecure_channel(target, options=options)
    return api.secure_channel(target, credentials, options=options)
