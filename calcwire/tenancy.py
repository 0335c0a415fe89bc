"""Tenants: who a call acts for, and how that travels between calcwire's processes.

A tenant is an id such as ``acme`` or ``team-7``: 1 to 63 characters, lower
case letters, digits, ``-``, ``_`` and ``.``, starting with a letter or digit.
Every API key belongs to one (the gateway's key store); every model, job, cell
and result row carries one.

Between processes the tenant travels in the ``x-calcwire-tenant`` metadata of
a call, next to the internal secret in ``x-calcwire-internal-secret``; a
backend believes the first only with the second (:mod:`calcwire.internal_auth`).
Clients never send either: the gateway drops them from what clients send and
sets its own.
"""

from __future__ import annotations

import re
from typing import Final

from calcwire.errors import InvalidArgument

__all__ = [
    "DEFAULT_TENANT",
    "INTERNAL_SECRET_METADATA_KEY",
    "OPEN_SERVICES",
    "TENANT_METADATA_KEY",
    "check_tenant",
    "is_open_method",
    "is_valid_tenant",
]

TENANT_METADATA_KEY: Final = "x-calcwire-tenant"
INTERNAL_SECRET_METADATA_KEY: Final = "x-calcwire-internal-secret"
DEFAULT_TENANT: Final = "default"
"""The tenant of a call to a backend that runs without an internal secret (development only)."""

#: Services any caller may use without credentials: probes and reflection.
OPEN_SERVICES: Final = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)

_TENANT: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


def is_valid_tenant(tenant: str) -> bool:
    return _TENANT.fullmatch(tenant) is not None


def check_tenant(tenant: str) -> str:
    """``tenant`` if it is a valid tenant id, else :class:`InvalidArgument` (INVALID_TENANT)."""
    if not is_valid_tenant(tenant):
        raise InvalidArgument(
            f"invalid tenant {tenant!r}: 1 to 63 characters, lower case letters, digits, "
            "'-', '_' and '.', starting with a letter or digit",
            reason="INVALID_TENANT",
        )
    return tenant


def is_open_method(method: str) -> bool:
    """Whether ``method`` (``/package.Service/Method``) belongs to :data:`OPEN_SERVICES`."""
    service = method.lstrip("/").split("/", 1)[0]
    return service in OPEN_SERVICES
