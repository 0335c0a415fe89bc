"""Asking a server for its ``grpc.health.v1`` status (the stack, the gateway, tests)."""

from __future__ import annotations

from typing import Final

import grpc
import grpc.aio
from grpc_health.v1 import health_pb2

__all__ = ["HEALTH_CHECK_METHOD", "check_health"]

HEALTH_CHECK_METHOD: Final = "/grpc.health.v1.Health/Check"


async def check_health(
    channel: grpc.aio.Channel, service: str = "", *, timeout: float = 2.0
) -> str:
    """``SERVING``, ``NOT_SERVING``, ``SERVICE_UNKNOWN`` (the server does not know
    ``service``) or ``UNREACHABLE`` (no answer in ``timeout`` seconds, or any other error)."""
    check = channel.unary_unary(
        HEALTH_CHECK_METHOD,
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    try:
        response = await check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    except grpc.aio.AioRpcError as error:
        return "SERVICE_UNKNOWN" if error.code() == grpc.StatusCode.NOT_FOUND else "UNREACHABLE"
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
