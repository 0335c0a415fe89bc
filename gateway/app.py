"""The gateway as a service: forwarding handlers for every public service,
health by service name from the backends, reflection for all of them.

Authentication (API keys bound to tenants) comes with issue 6; until then a
call without ``x-calcwire-tenant`` runs as tenant ``default`` at the backend.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import grpc.aio
from google.protobuf.descriptor import ServiceDescriptor

from calcwire.server import Registry, Runtime, ServiceSpec, channel_options
from gateway.backend_health import report_backend_health
from gateway.proxy import forwarding_handler
from gateway.routes import PUBLIC_SERVICES, backend_target, public_service_descriptors, routes

__all__ = ["gateway_spec"]

Targets = Mapping[str, tuple[ServiceDescriptor, str]]


def gateway_spec(services: Targets | None = None) -> ServiceSpec:
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
        channels: dict[str, grpc.aio.Channel] = {}
        backends: dict[str, grpc.aio.Channel] = {}
        for name, (descriptor, target) in table.items():
            if target not in channels:
                channels[target] = grpc.aio.insecure_channel(
                    target, options=channel_options(settings)
                )
            channel = channels[target]
            registry.add_generic_handler(
                name,
                forwarding_handler(channel, routes(descriptor)),
                health_follows_dependencies=False,
            )
            backends[name] = channel

        async def watch(stopping: asyncio.Event) -> None:
            assert runtime.health is not None
            await report_backend_health(
                runtime.health,
                backends,
                interval=settings.health_interval_seconds,
                stopping=stopping,
            )

        async def close_channels() -> None:
            for channel in channels.values():
                await channel.close()

        registry.add_background("backend-health", watch)
        registry.add_cleanup(close_channels)

    return ServiceSpec(name="gateway", schema=None, uses_nats=False, setup=setup)
