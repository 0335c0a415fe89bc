"""The local stack: PostgreSQL, NATS and the four services on this machine.

One implementation for ``make up``/``make down`` (state in ``<run_dir>/stack.json``,
processes outlive the command) and for the test harness (processes die with
pytest). PostgreSQL and NATS are started unless URLs of running ones are given;
ports are free ones picked at start (services keep the PLATFORM.md defaults
when those are free and ``free_ports`` is off). A PostgreSQL or NATS that the
stack did not start is never stopped by it.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import grpc.aio

from calcwire.config import DEFAULT_LISTEN
from calcwire.devstack.nats import NatsServer
from calcwire.devstack.postgres import PostgresServer
from calcwire.devstack.processes import STACK_MARK, ManagedProcess, spawn, tail
from calcwire.health_client import check_health

__all__ = [
    "BACKENDS",
    "SERVICES",
    "LocalStack",
    "free_port",
    "health_status",
    "wait_for_health",
]

BACKENDS: Final = ("import_svc", "eval_svc", "validation_svc")
SERVICES: Final = (*BACKENDS, "gateway")
STATE_FILE: Final = "stack.json"
SECRET_FILE: Final = "internal-secret"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


async def health_status(target: str, service: str = "", *, timeout: float = 2.0) -> str:
    """``SERVING``, ``NOT_SERVING``, ``SERVICE_UNKNOWN`` or ``UNREACHABLE`` (see :func:`check_health`)."""
    async with grpc.aio.insecure_channel(target) as channel:
        return await check_health(channel, service, timeout=timeout)


async def wait_for_health(
    target: str,
    wanted: str = "SERVING",
    *,
    service: str = "",
    timeout: float = 60.0,
    process: ManagedProcess | None = None,
) -> None:
    """Poll ``target``'s health until it reports ``wanted``; fail early if ``process`` died."""
    deadline = time.monotonic() + timeout
    status = "UNREACHABLE"
    while time.monotonic() < deadline:
        if process is not None and not process.is_running():
            raise RuntimeError(f"{process.name} exited (log {process.log}):\n{tail(process.log)}")
        status = await health_status(target, service, timeout=min(2.0, timeout))
        if status == wanted:
            return
        await asyncio.sleep(0.05)
    detail = f"\n{tail(process.log)}" if process is not None else ""
    raise TimeoutError(
        f"{target} health {service!r} is {status}, not {wanted}, after {timeout:g}s{detail}"
    )


@dataclass
class LocalStack:
    """PostgreSQL + NATS (unless given) + the four services, under ``run_dir``."""

    run_dir: Path
    die_with_parent: bool = False
    free_ports: bool = True
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    postgres: PostgresServer | None = None
    nats: NatsServer | None = None
    database_url: str = ""
    nats_url: str = ""
    services: dict[str, ManagedProcess] = field(default_factory=dict)
    listen: dict[str, str] = field(default_factory=dict)
    """Where each service binds (CALCWIRE_LISTEN)."""
    endpoints: dict[str, str] = field(default_factory=dict)
    """Where to reach each service (``host:port``; loopback for a wildcard bind)."""
    internal_secret: str = field(default="", repr=False)
    """CALCWIRE_INTERNAL_SECRET of every service: generated once into ``<run_dir>/internal-secret``."""

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    def _process_env(self) -> dict[str, str]:
        env = dict(self.env)
        env[STACK_MARK] = str(self.run_dir.resolve())
        return env

    # ------------------------------------------------------------ infrastructure

    async def start_infrastructure(
        self, *, database_url: str | None = None, nats_url: str | None = None
    ) -> None:
        """Start PostgreSQL and NATS, each unless a URL of a running one is given."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            if database_url:
                self.database_url = database_url
            else:
                await self.start_postgres()
            if nats_url:
                self.nats_url = nats_url
            else:
                self.nats = NatsServer.create(self.run_dir, free_port())
                self.nats.start(env=self._process_env(), die_with_parent=self.die_with_parent)
                self.save()
                await self.nats.wait_ready()
                self.nats_url = self.nats.url
        finally:
            self.save()

    async def start_postgres(self) -> None:
        if self.postgres is None:
            self.postgres = PostgresServer.create(self.run_dir, free_port())
        self.postgres.start(env=self._process_env(), die_with_parent=self.die_with_parent)
        self.save()
        await self.postgres.wait_ready()
        self.database_url = self.postgres.url()

    def stop_postgres(self) -> None:
        """Stop the stack's PostgreSQL, keeping its data (see :meth:`start_postgres`)."""
        assert self.postgres is not None, "this stack did not start PostgreSQL"
        self.postgres.stop()

    def stop_nats(self) -> None:
        assert self.nats is not None, "this stack did not start NATS"
        self.nats.stop()

    async def start_nats(self) -> None:
        assert self.nats is not None, "this stack did not start NATS"
        self.nats.start(env=self._process_env(), die_with_parent=self.die_with_parent)
        await self.nats.wait_ready()

    # ------------------------------------------------------------ services

    def _listen(self, service: str) -> str:
        """PLATFORM.md's address when it is free (``make up``), else a free port;
        always a free loopback port with ``free_ports`` (tests)."""
        if self.free_ports:
            return f"127.0.0.1:{free_port()}"
        default = DEFAULT_LISTEN[service]
        host, _, port = default.rpartition(":")
        if _port_is_free(host, int(port)):
            return default
        return f"{host}:{free_port()}"

    @staticmethod
    def _target(listen: str) -> str:
        host, _, port = listen.rpartition(":")
        return f"127.0.0.1:{port}" if host in ("0.0.0.0", "[::]") else listen

    def ensure_internal_secret(self) -> str:
        """The stack's internal secret, generated (readable by the owner only) on first use."""
        if not self.internal_secret:
            path = self.run_dir / SECRET_FILE
            if path.exists():
                self.internal_secret = path.read_text().strip()
            else:
                self.run_dir.mkdir(parents=True, exist_ok=True)
                self.internal_secret = secrets.token_hex(32)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "w") as file:
                    file.write(self.internal_secret + "\n")
        return self.internal_secret

    def service_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment of every service: the stack's URLs, where each backend listens,
        and the internal secret they share."""
        env = self._process_env()
        env.update(
            {
                "DATABASE_URL": self.database_url,
                "NATS_URL": self.nats_url,
                "CALCWIRE_INTERNAL_SECRET": self.ensure_internal_secret(),
                "CALCWIRE_IMPORT_TARGET": self.endpoints["import_svc"],
                "CALCWIRE_EVAL_TARGET": self.endpoints["eval_svc"],
                "CALCWIRE_VALIDATION_TARGET": self.endpoints["validation_svc"],
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra or {})
        return env

    async def start_services(
        self,
        names: Iterable[str] = SERVICES,
        *,
        extra_env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        """Start the services as ``python -m <name>`` and wait until each says SERVING.

        The backends start first and the gateway once they serve, so that the
        gateway's first calls find them listening.
        """
        names = list(names)
        backends = [n for n in names if n != "gateway"]
        if "gateway" in names and backends:
            await self.start_services(backends, extra_env=extra_env, timeout=timeout)
            names = ["gateway"]
        for name in SERVICES:
            if name not in self.listen:
                self.listen[name] = self._listen(name)
                self.endpoints[name] = self._target(self.listen[name])
        env = self.service_env(extra_env)
        for name in names:
            self.services[name] = spawn(
                name,
                [sys.executable, "-m", name],
                log=self.logs / f"{name}.log",
                env={**env, "CALCWIRE_LISTEN": self.listen[name]},
                die_with_parent=self.die_with_parent,
            )
            self.save()
        try:
            await asyncio.gather(
                *(
                    wait_for_health(self.endpoints[n], timeout=timeout, process=self.services[n])
                    for n in names
                )
            )
        finally:
            self.save()

    def stop_services(self, names: Iterable[str] | None = None) -> None:
        """SIGTERM each service (in parallel) and wait for it to exit."""
        chosen = [n for n in (names or list(self.services)) if n in self.services]
        for name in chosen:
            process = self.services[name]
            if process.is_running():
                os.kill(process.pid, process.stop_signal)
        for name in chosen:
            self.services.pop(name).stop()
        self.save()

    # ------------------------------------------------------------ whole stack

    def stop(self) -> list[str]:
        """Stop everything this stack started, services first; return their names."""
        stopped = [*self.services]
        self.stop_services()
        for server in (self.nats, self.postgres):
            if server is not None and server.process is not None:
                stopped.append(server.process.name)
                server.stop()
                server.remove()
        self.nats = self.postgres = None
        self.save()
        (self.run_dir / SECRET_FILE).unlink(missing_ok=True)
        self.internal_secret = ""
        return stopped

    def processes(self) -> list[ManagedProcess]:
        found = [
            s.process for s in (self.postgres, self.nats) if s is not None and s.process is not None
        ]
        return [*found, *self.services.values()]

    def state_path(self) -> Path:
        return self.run_dir / STATE_FILE

    def save(self) -> None:
        if not self.processes():
            self.state_path().unlink(missing_ok=True)
            return
        state: dict[str, Any] = {
            "database_url": self.database_url,
            "nats_url": self.nats_url,
            "listen": self.listen,
            "endpoints": self.endpoints,
            "services": {name: p.to_json() for name, p in self.services.items()},
        }
        if self.postgres is not None and self.postgres.process is not None:
            state["postgres"] = {
                "data_dir": str(self.postgres.data_dir),
                "port": self.postgres.port,
                "user": self.postgres.user,
                "process": self.postgres.process.to_json(),
            }
        if self.nats is not None and self.nats.process is not None:
            state["nats"] = {
                "store_dir": str(self.nats.store_dir),
                "port": self.nats.port,
                "process": self.nats.process.to_json(),
            }
        self.run_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_path())

    @classmethod
    def load(cls, run_dir: Path) -> LocalStack | None:
        """The stack ``make up`` recorded in ``run_dir``, or None."""
        path = run_dir / STATE_FILE
        if not path.exists():
            return None
        state = json.loads(path.read_text())
        stack = cls(run_dir=run_dir)
        stack.database_url = state["database_url"]
        stack.nats_url = state["nats_url"]
        stack.listen = dict(state.get("listen", {}))
        stack.endpoints = dict(state["endpoints"])
        stack.services = {n: ManagedProcess.from_json(p) for n, p in state["services"].items()}
        if "postgres" in state:
            pg = state["postgres"]
            stack.postgres = PostgresServer(
                data_dir=Path(pg["data_dir"]),
                port=pg["port"],
                log=run_dir / "logs" / "postgres.log",
                user=pg["user"],
                process=ManagedProcess.from_json(pg["process"]),
            )
        if "nats" in state:
            ns = state["nats"]
            stack.nats = NatsServer(
                store_dir=Path(ns["store_dir"]),
                port=ns["port"],
                log=run_dir / "logs" / "nats.log",
                process=ManagedProcess.from_json(ns["process"]),
            )
        return stack
