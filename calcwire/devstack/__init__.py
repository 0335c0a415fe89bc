"""The local stack on this machine, for ``make up``/``make down`` and the tests."""

from calcwire.devstack.nats import NatsServer, nats_server_binary
from calcwire.devstack.postgres import PostgresServer, postgres_bindir
from calcwire.devstack.processes import ManagedProcess
from calcwire.devstack.stack import (
    BACKENDS,
    SERVICES,
    LocalStack,
    free_port,
    health_status,
    wait_for_health,
)

__all__ = [
    "BACKENDS",
    "SERVICES",
    "LocalStack",
    "ManagedProcess",
    "NatsServer",
    "PostgresServer",
    "free_port",
    "health_status",
    "nats_server_binary",
    "postgres_bindir",
    "wait_for_health",
]
