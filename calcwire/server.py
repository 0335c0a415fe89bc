"""What every calcwire process does the same way: start, serve, report health, stop.

A service's ``__main__`` describes itself with a :class:`ServiceSpec` and hands
it to :func:`main`::

    async def setup(runtime: Runtime, registry: Registry) -> None:
        store = WorkbookStore(runtime.require_pool())
        registry.add_servicer(
            "calcwire.workbooks.v1.WorkbookService",
            workbooks_pb2_grpc.add_WorkbookServiceServicer_to_server,
            WorkbookServicer(store),
        )
        registry.add_worker("import", lambda stopping: consume(js, "import", handle, stopping))

    SPEC = ServiceSpec(name="import_svc", schema="workbooks",
                       migrations=Path(__file__).parent / "migrations", setup=setup)

    if __name__ == "__main__":
        main(SPEC)

Start-up, in order: settings and logging; PostgreSQL (wait, then migrate the
service's schema); NATS (wait, then :func:`calcwire.messaging.ensure_topology`);
``setup``; the gRPC server with keepalive and message-size limits, the request
context and error interceptors, on a backend the internal-secret check
(:class:`~calcwire.internal_auth.InternalAuthInterceptor`), then any interceptor
``setup`` added (the gateway's API keys), ``grpc.health.v1`` and reflection for
every service it serves, on a port with TLS when configured
(:mod:`calcwire.tls`: the gateway's public TLS, mutual TLS between services);
then the workers. ``CALCWIRE_ROLE=server`` starts no
workers, ``worker`` registers no servicers (health and reflection stay).

Health: a background task checks PostgreSQL (``SELECT 1``) and NATS
(connected, JetStream answers) every ``CALCWIRE_HEALTH_INTERVAL_SECONDS`` and
sets SERVING or NOT_SERVING for ``""`` and every served service name; it
follows the dependencies both ways, with no restart.

Shutdown (SIGTERM or SIGINT): health turns NOT_SERVING for good, the server
takes no new calls, workers are asked to stop (they finish the message in
hand); whatever is still running when ``CALCWIRE_SHUTDOWN_GRACE_SECONDS`` is
over is cancelled (in-flight messages are nak'ed, calls are cancelled), then
connections close.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import grpc
import grpc.aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from calcwire import errors
from calcwire.config import ConfigError, Settings, load_settings
from calcwire.db import MigrationError, apply_migrations, check_database, create_pool, redact_url
from calcwire.grpc_errors import AroundInterceptor, ErrorInterceptor
from calcwire.internal_auth import InternalAuthInterceptor, verified_tenant
from calcwire.logs import bind_ids, configure_logging, get_logger
from calcwire.messaging import check_nats, connect_nats, ensure_topology
from calcwire.tenancy import DEFAULT_TENANT, TENANT_METADATA_KEY
from calcwire.tls import server_credentials

__all__ = [
    "DEFAULT_TENANT",
    "HEALTH_SERVICE",
    "LIVENESS_SERVICE",
    "REQUEST_ID_METADATA_KEY",
    "TENANT_METADATA_KEY",
    "Registry",
    "RequestContextInterceptor",
    "Runtime",
    "ServiceHost",
    "ServiceSpec",
    "channel_options",
    "main",
    "request_tenant",
    "serve",
    "server_options",
]

log = get_logger(__name__)

HEALTH_SERVICE = health.SERVICE_NAME  # "grpc.health.v1.Health"
LIVENESS_SERVICE = "calcwire.liveness"
"""A health name that is SERVING while the process answers, whatever its dependencies:
for liveness probes, which must restart a wedged process but not one waiting for PostgreSQL."""
REQUEST_ID_METADATA_KEY = "x-request-id"

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING

Task = Callable[[asyncio.Event], Awaitable[None]]
"""A long-running coroutine: it gets the ``stopping`` event and returns soon after it is set."""

_S = TypeVar("_S")


@dataclass
class Runtime:
    """The connections a service's ``setup`` builds its servicers and workers on."""

    settings: Settings
    pool: asyncpg.Pool | None = None
    nats: NATS | None = None
    jetstream: JetStreamContext | None = None
    health: health.aio.HealthServicer | None = None
    """The service's health servicer; the bootstrap sets ``""`` and the served names."""
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def require_pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError(
                f"{self.settings.service} has no database (ServiceSpec.schema is None)"
            )
        return self.pool

    def require_jetstream(self) -> JetStreamContext:
        if self.jetstream is None:
            raise RuntimeError(
                f"{self.settings.service} has no NATS (ServiceSpec.uses_nats is False)"
            )
        return self.jetstream


@dataclass
class Registry:
    """What ``setup`` registers: servicers, workers, background tasks, clean-ups."""

    servicers: list[tuple[str, Callable[[grpc.aio.Server], None], bool]] = field(
        default_factory=list
    )
    workers: list[tuple[str, Task]] = field(default_factory=list)
    background: list[tuple[str, Task]] = field(default_factory=list)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    interceptors: list[grpc.aio.ServerInterceptor] = field(default_factory=list)

    def add_servicer(
        self,
        service_name: str,
        add_to_server: Callable[[_S, grpc.aio.Server], None],
        servicer: _S,
    ) -> None:
        """Serve ``servicer`` (generated ``add_XServicer_to_server`` function and its servicer)."""
        self.servicers.append((service_name, lambda server: add_to_server(servicer, server), True))

    def add_generic_handler(
        self,
        service_name: str,
        handler: grpc.GenericRpcHandler,
        *,
        health_follows_dependencies: bool = True,
    ) -> None:
        """Serve ``service_name`` through a generic handler (the gateway's forwarding).

        With ``health_follows_dependencies=False`` the name's health is left to
        whoever registered it (the gateway reports its backends' health).
        """
        self.servicers.append(
            (
                service_name,
                lambda server: server.add_generic_rpc_handlers((handler,)),
                health_follows_dependencies,
            )
        )

    def add_interceptor(self, interceptor: grpc.aio.ServerInterceptor) -> None:
        """Run every call through ``interceptor`` too (the gateway's authentication).

        It sits inside the bootstrap's own interceptors, so a
        :class:`calcwire.errors.CalcwireError` it raises reaches the client as a
        status with its ErrorInfo reason.
        """
        self.interceptors.append(interceptor)

    def add_worker(self, name: str, run: Task) -> None:
        """Run ``run(stopping)`` while the service runs (not with CALCWIRE_ROLE=server)."""
        self.workers.append((name, run))

    def add_background(self, name: str, run: Task) -> None:
        """Run ``run(stopping)`` while the service runs, whatever its role."""
        self.background.append((name, run))

    def add_cleanup(self, close: Callable[[], Awaitable[None]]) -> None:
        """Await ``close()`` at shutdown, after workers and calls ended, before connections close."""
        self.cleanups.append(close)


Setup = Callable[[Runtime, Registry], Awaitable[None] | None]


@dataclass(frozen=True)
class ServiceSpec:
    """How one service differs from the others."""

    name: str
    schema: str | None = None
    """The PostgreSQL schema the service owns; ``None``: it uses no database."""
    migrations: Path | None = None
    """Directory of ``NNN_name.sql`` files applied to ``schema`` at start-up."""
    uses_nats: bool = True
    setup: Setup | None = None
    public: bool = False
    """The gateway: its port speaks TLS when configured, and its callers are clients
    (API keys, checked by the gateway itself). Every other service is a backend:
    mutual TLS when configured, and :class:`InternalAuthInterceptor` in front of
    every method but health and reflection."""


def _shared_options(settings: Settings) -> list[tuple[str, Any]]:
    """Message size limits and keepalive pings (every 30 s, 10 s to answer), both sides."""
    size = settings.max_message_bytes
    return [
        ("grpc.max_send_message_length", size),
        ("grpc.max_receive_message_length", size),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
    ]


def server_options(settings: Settings) -> list[tuple[str, Any]]:
    """gRPC server options: message size, keepalive, connection age, no silent port sharing.

    Connections are closed (GOAWAY) after five minutes, with half an hour for
    the calls on them to finish: clients re-resolve DNS only when a connection
    drops, so without this a replica added by the autoscaler would never get
    calls from a gateway that is already connected.
    """
    return [
        *_shared_options(settings),
        ("grpc.max_connection_age_ms", 300_000),
        ("grpc.max_connection_age_grace_ms", 1_800_000),
        # Accept clients' keepalive pings (channel_options) instead of GOAWAY "too many pings".
        ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
        # A second process on the same port must fail to start, not share the port.
        ("grpc.so_reuseport", 0),
    ]


def channel_options(settings: Settings) -> list[tuple[str, Any]]:
    """gRPC client options matching :func:`server_options` (the gateway's channels).

    Reconnection backoff is capped at one second (gRPC's default grows to two
    minutes): a backend that restarts is reachable again through the gateway
    within a second, not after the gateway's last backoff ran out. Calls are
    spread round-robin over every address the target resolves to (a headless
    Service in Kubernetes gives one per pod); gRPC's default, pick_first,
    would send them all to one replica.
    """
    return [
        *_shared_options(settings),
        ("grpc.service_config", '{"loadBalancingConfig": [{"round_robin": {}}]}'),
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
    ]


@asynccontextmanager
async def _request_context(
    context: grpc.aio.ServicerContext[Any, Any], method: str
) -> AsyncIterator[None]:
    # The tenant is bound once established (InternalAuthInterceptor, the gateway's auth).
    bind_ids(
        request_id=_metadata_value(context, REQUEST_ID_METADATA_KEY) or uuid.uuid4().hex,
        rpc_method=method,
    )
    yield


def _metadata_value(context: grpc.aio.ServicerContext[Any, Any], key: str) -> str | None:
    for name, value in context.invocation_metadata() or ():
        if name == key and isinstance(value, str):
            return value
    return None


def request_tenant(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    """The tenant the call being served acts for, as the backend's
    :class:`~calcwire.internal_auth.InternalAuthInterceptor` established it.

    With ``CALCWIRE_INTERNAL_SECRET`` set, that is the ``x-calcwire-tenant`` of a
    caller that presented the secret (the gateway, or another service through
    :mod:`calcwire.internal_client`); calls without it never reach the handler.
    Without a secret (development only) it is the header, else ``default``.
    Called outside such a call (a servicer served without the bootstrap), it
    refuses rather than guess: UNAUTHENTICATED, INTERNAL_SECRET_INVALID.
    ``context`` is the handler's; the tenant lives in the call's task.
    """
    tenant = verified_tenant()
    if tenant is None:
        raise errors.Unauthenticated(
            "no verified tenant for this call (served without calcwire's internal auth)",
            reason="INTERNAL_SECRET_INVALID",
        )
    return tenant


class RequestContextInterceptor(AroundInterceptor):
    """Binds request id, RPC method and tenant to every log line of a call."""

    def around(
        self, context: grpc.aio.ServicerContext[Any, Any], method: str
    ) -> AbstractAsyncContextManager[None]:
        return _request_context(context, method)


class ServiceHost:
    """One running service: its connections, gRPC server, health, workers.

    :func:`serve` drives it from signals; tests drive it directly::

        host = ServiceHost(spec, settings)
        await host.start()          # host.port is the bound port
        ...
        await host.stop()
    """

    def __init__(self, spec: ServiceSpec, settings: Settings) -> None:
        self.spec = spec
        self.settings = settings
        self.health = health.aio.HealthServicer()
        self.runtime = Runtime(settings=settings, health=self.health)
        self.registry = Registry()
        self.port: int = 0
        self._server: grpc.aio.Server | None = None
        self._tracked: list[str] = []
        self._workers: list[asyncio.Task[None]] = []
        self._background: list[asyncio.Task[None]] = []
        self._stopped = False
        self._healthy: bool | None = None
        self._log = log

    @property
    def stopping(self) -> asyncio.Event:
        return self.runtime.stopping

    async def start(self) -> None:
        spec, settings, runtime = self.spec, self.settings, self.runtime
        self._log.info("starting", listen=settings.listen, role=settings.role)
        if spec.schema is not None:
            runtime.pool = await create_pool(
                settings.database_url,
                min_size=settings.db_pool_min,
                max_size=settings.db_pool_max,
                application_name=spec.name,
            )
            applied = await apply_migrations(runtime.pool, spec.schema, spec.migrations)
            self._log.info(
                "database ready",
                url=redact_url(settings.database_url),
                schema=spec.schema,
                migrations_applied=[m.filename for m in applied],
            )
        if spec.uses_nats:
            runtime.nats = await connect_nats(settings.nats_urls, name=spec.name)
            runtime.jetstream = runtime.nats.jetstream()
            await ensure_topology(
                runtime.jetstream,
                job_retention_days=settings.job_retention_days,
                ack_wait=settings.ack_wait_seconds,
            )
            self._log.info("NATS ready", servers=list(settings.nats_urls))
        if spec.setup is not None:
            done = spec.setup(runtime, self.registry)
            if inspect.isawaitable(done):
                await done

        interceptors: list[grpc.aio.ServerInterceptor] = [
            RequestContextInterceptor(),
            ErrorInterceptor(),
        ]
        if not spec.public:
            if not settings.internal_secret:
                self._log.warning(
                    "CALCWIRE_INTERNAL_SECRET is not set: this backend takes any caller's "
                    "word for its tenant (development only)"
                )
            interceptors.append(InternalAuthInterceptor(settings.internal_secret))
        interceptors.extend(self.registry.interceptors)
        server = grpc.aio.server(options=server_options(settings), interceptors=interceptors)
        served: list[str] = []
        if settings.role != "worker":
            for name, add, tracked in self.registry.servicers:
                add(server)
                served.append(name)
                if tracked:
                    self._tracked.append(name)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(
            [*served, HEALTH_SERVICE, reflection.SERVICE_NAME], server
        )
        for name in ["", *self._tracked]:
            await self.health.set(name, NOT_SERVING)
        credentials = server_credentials(settings, public=spec.public)
        await self.health.set(LIVENESS_SERVICE, SERVING)
        try:
            if credentials is None:
                self.port = server.add_insecure_port(settings.listen)
            else:
                self.port = server.add_secure_port(settings.listen, credentials)
        except RuntimeError as exc:
            raise ConnectionError(f"cannot listen on {settings.listen}: {exc}") from exc
        self._server = server
        await server.start()

        await self._check_dependencies()
        self._background.append(asyncio.create_task(self._monitor_dependencies(), name="health"))
        for name, run in self.registry.background:
            self._background.append(asyncio.create_task(self._supervised(name, run), name=name))
        if settings.role != "server":
            for name, run in self.registry.workers:
                self._workers.append(asyncio.create_task(self._supervised(name, run), name=name))
        self._log.info(
            "serving",
            port=self.port,
            tls=credentials is not None,
            services=served,
            workers=[t.get_name() for t in self._workers],
        )

    async def _supervised(self, name: str, run: Task) -> None:
        """Run a worker or background task, and run it again if it crashes.

        A consumer loop that died would leave the service SERVING but deaf to
        its queue, so a crash is logged and the task restarts after a pause
        that doubles up to a minute (reset once it has run for a minute).
        """
        pause = 1.0
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                await run(self.stopping)
                return
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - logged; the service keeps serving
                self._log.exception("task crashed; restarting it", task=name, pause_s=pause)
            if time.monotonic() - started > 60.0:
                pause = 1.0
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=pause)
            except TimeoutError:
                pass
            pause = min(pause * 2, 60.0)

    async def _check_dependencies(self) -> bool:
        runtime, timeout = self.runtime, min(self.settings.health_interval_seconds, 2.0)
        problems = []
        if runtime.pool is not None and not await check_database(runtime.pool, timeout=timeout):
            problems.append("postgresql")
        nats, js = runtime.nats, runtime.jetstream
        if nats is not None and js is not None and not await check_nats(nats, js, timeout=timeout):
            problems.append("nats")
        healthy = not problems
        for name in ["", *self._tracked]:
            await self.health.set(name, SERVING if healthy else NOT_SERVING)
        if healthy != self._healthy:
            if healthy:
                self._log.info("health: SERVING")
            else:
                self._log.warning("health: NOT_SERVING", unreachable=problems)
            self._healthy = healthy
        return healthy

    async def _monitor_dependencies(self) -> None:
        while not self.stopping.is_set():
            try:
                await asyncio.wait_for(
                    self.stopping.wait(), timeout=self.settings.health_interval_seconds
                )
                return
            except TimeoutError:
                pass
            await self._check_dependencies()

    async def stop(self) -> None:
        """Graceful shutdown, bounded by CALCWIRE_SHUTDOWN_GRACE_SECONDS."""
        if self._stopped:
            return
        self._stopped = True
        grace = self.settings.shutdown_grace_seconds
        self._log.info("shutting down", grace_seconds=grace)
        await self.health.enter_graceful_shutdown()
        self.stopping.set()
        server_stopped = asyncio.create_task(self._server.stop(grace)) if self._server else None

        if self._workers:
            _, pending = await asyncio.wait(self._workers, timeout=grace)
            for task in pending:
                self._log.warning(
                    "worker still busy after the grace period; cancelling", worker=task.get_name()
                )
                task.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
        if server_stopped is not None:
            await server_stopped
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        for close in reversed(self.registry.cleanups):
            try:
                await close()
            except Exception:  # noqa: BLE001 - the other clean-ups still run
                self._log.exception("clean-up failed")
        await self._close_connections()
        self._log.info("stopped")

    async def _close_connections(self) -> None:
        runtime = self.runtime
        if runtime.nats is not None:
            try:
                await asyncio.wait_for(runtime.nats.close(), timeout=5)
            except Exception as exc:  # noqa: BLE001 - shutting down anyway
                self._log.warning("closing NATS failed", error=str(exc))
        if runtime.pool is not None:
            try:
                await asyncio.wait_for(runtime.pool.close(), timeout=5)
            except Exception:  # noqa: BLE001
                runtime.pool.terminate()


async def serve(
    spec: ServiceSpec, settings: Settings, *, stop: asyncio.Event | None = None
) -> None:
    """Run ``spec`` until SIGTERM/SIGINT (or ``stop`` is set), then shut down gracefully."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host = ServiceHost(spec, settings)
    starting = asyncio.create_task(host.start())
    stop_waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({starting, stop_waiter}, return_when=asyncio.FIRST_COMPLETED)
        if starting.done():
            starting.result()  # start-up errors surface here
            await stop_waiter
        else:
            log.info("stop requested during start-up")
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
    finally:
        stop_waiter.cancel()
        await host.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def main(spec: ServiceSpec, argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m <service>``: exit status 0 after a clean stop,
    1 when start-up failed (a dependency stayed unreachable, a migration failed),
    2 for invalid configuration."""
    try:
        settings = load_settings(spec.name)
    except ConfigError as exc:
        print(f"{spec.name}: {exc}", file=sys.stderr)
        sys.exit(2)
    configure_logging(service=spec.name, production=settings.production, level=settings.log_level)
    try:
        asyncio.run(serve(spec, settings))
    except (ConnectionError, MigrationError, asyncpg.PostgresError) as exc:
        # Configuration or environment problems: a clear line, no traceback.
        log.error("start-up failed", error=f"{type(exc).__name__}: {exc}")
        sys.exit(1)
