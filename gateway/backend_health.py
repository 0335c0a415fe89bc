"""The gateway's health by service name: each public service is as healthy as
the backend that serves it says it is (asked by name, every health interval)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import grpc.aio
from grpc_health.v1 import health, health_pb2

from calcwire.health_client import check_health
from calcwire.logs import get_logger

__all__ = ["report_backend_health"]

log = get_logger(__name__)


async def report_backend_health(
    servicer: health.aio.HealthServicer,
    backends: Mapping[str, grpc.aio.Channel],
    *,
    interval: float,
    stopping: asyncio.Event,
) -> None:
    """Until ``stopping``: set each service name's status from its backend's answer.

    Anything but SERVING (unreachable, or a backend that does not serve the
    name yet) is NOT_SERVING.
    """
    last: dict[str, str] = {}
    timeout = min(interval, 2.0)
    names = list(backends)
    while not stopping.is_set():
        answers = await asyncio.gather(
            *(check_health(backends[n], n, timeout=timeout) for n in names)
        )
        if stopping.is_set():
            return
        for name, answer in zip(names, answers, strict=True):
            serving = answer == "SERVING"
            await servicer.set(
                name,
                health_pb2.HealthCheckResponse.SERVING
                if serving
                else health_pb2.HealthCheckResponse.NOT_SERVING,
            )
            if last.get(name) != answer:
                log.info("backend health", service=name, backend_says=answer)
                last[name] = answer
        try:
            await asyncio.wait_for(stopping.wait(), timeout=interval)
        except TimeoutError:
            pass
