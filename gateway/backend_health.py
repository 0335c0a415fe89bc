"""The gateway's health by service name: each public service is as healthy as
the backend that serves it says it is (asked by name, every health interval)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from calcwire.logs import get_logger

__all__ = ["report_backend_health"]

log = get_logger(__name__)

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def _backend_status(stub: health_pb2_grpc.HealthStub, service: str, timeout: float) -> int:
    try:
        response = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    except grpc.aio.AioRpcError:
        return NOT_SERVING  # unreachable, or it does not serve this name (NOT_FOUND)
    return SERVING if response.status == SERVING else NOT_SERVING


async def report_backend_health(
    servicer: health.aio.HealthServicer,
    backends: Mapping[str, grpc.aio.Channel],
    *,
    interval: float,
    stopping: asyncio.Event,
) -> None:
    """Until ``stopping``: set each service name's status to its backend's answer."""
    stubs = {name: health_pb2_grpc.HealthStub(channel) for name, channel in backends.items()}
    last: dict[str, int] = {}
    timeout = min(interval, 2.0)
    while not stopping.is_set():
        statuses = await asyncio.gather(*(_backend_status(stub, name, timeout) for name, stub in stubs.items()))
        for name, status in zip(stubs, statuses):
            if stopping.is_set():
                return
            await servicer.set(name, status)
            if last.get(name) != status:
                log.info("backend health", service=name, status=health_pb2.HealthCheckResponse.ServingStatus.Name(status))
                last[name] = status
        try:
            await asyncio.wait_for(stopping.wait(), timeout=interval)
        except asyncio.TimeoutError:
            pass
