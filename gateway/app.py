"""The gateway as a service: authentication and limits, forwarding handlers for
every public service, health by service name from the backends, reflection for
all of them.

Every public call needs an API key (:mod:`gateway.auth`); the key's tenant
travels to the backend with the internal secret (:mod:`calcwire.internal_client`).
The gateway owns schema ``gateway`` (the API keys, :mod:`gateway.store`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Final

from google.protobuf.descriptor import ServiceDescriptor

from calcwire.internal_client import InternalChannel, internal_channel
from calcwire.server import Registry, Runtime, ServiceSpec
from gateway.auth import GatewayAuthInterceptor, call_tenant
from gateway.backend_health import report_backend_health
from gateway.keys import Authenticator
from gateway.limits import RateLimiter, UploadLimiter
from gateway.proxy import forwarding_handler
from gateway.routes import PUBLIC_SERVICES, backend_target, public_service_descriptors, routes
from gateway.store import MIGRATIONS, SCHEMA, KeyStore

__all__ = ["UPLOAD_METHODS", "gateway_spec"]

Targets = Mapping[str, tuple[ServiceDescriptor, str]]

#: Calls that count against a key's limit of concurrent uploads.
UPLOAD_METHODS: Final = frozenset({"/calcwire.workbooks.v1.WorkbookService/UploadWorkbook"})


def gateway_spec(
    services: Targets | None = None, *, upload_methods: Collection[str] = UPLOAD_METHODS
) -> ServiceSpec:
    """The gateway's spec, forwarding ``services`` (full name -> descriptor and backend
    ``host:port``); by default every public service to its backend from the settings."""

    async def setup(runtime: Runtime, registry: Registry) -> None:
        settings = runtime.settings
        table = services
        if table is None:
            table = {
                name: (descriptor, backend_target(settings, PUBLIC_SERVICES[name][1]))
                for name, descriptor in public_service_descriptors().items()
            }
        store = KeyStore(runtime.require_pool())
        registry.add_interceptor(
            GatewayAuthInterceptor(
                Authenticator(store.get_key, cache_seconds=settings.api_key_cache_seconds),
                RateLimiter(
                    per_second=settings.rate_limit_per_second, burst=settings.rate_limit_burst
                ),
                UploadLimiter(settings.max_concurrent_uploads),
                upload_methods=upload_methods,
            )
        )
        channels: dict[str, InternalChannel] = {}
        backends: dict[str, InternalChannel] = {}
        for name, (descriptor, target) in table.items():
            if target not in channels:
                channels[target] = internal_channel(settings, target)
            backend = channels[target]
            registry.add_generic_handler(
                name,
                forwarding_handler(backend, routes(descriptor), call_tenant),
                health_follows_dependencies=False,
            )
            backends[name] = backend

        async def watch(stopping: asyncio.Event) -> None:
            assert runtime.health is not None
            await report_backend_health(
                runtime.health,
                {name: backend.channel for name, backend in backends.items()},
                interval=settings.health_interval_seconds,
                stopping=stopping,
            )

        async def close_channels() -> None:
            for backend in channels.values():
                await backend.close()

        registry.add_background("backend-health", watch)
        registry.add_cleanup(close_channels)

    return ServiceSpec(
        name="gateway",
        schema=SCHEMA,
        migrations=MIGRATIONS,
        uses_nats=False,
        setup=setup,
        public=True,
    )
