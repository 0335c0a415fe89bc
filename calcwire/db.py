"""PostgreSQL: the connection pool, its health check, and schema migrations.

Each service owns one schema and keeps its SQL in its own ``store.py``; what
lives here is what every service does the same way.

Pool: :func:`create_pool` waits for PostgreSQL at start-up (retrying with
backoff) and the pool heals itself afterwards: a connection that PostgreSQL
closed (restart, failover) is dropped when it is released and replaced by a
fresh one on the next acquire, so a restart of the database costs the calls
made while it was down, and nothing after.

Migrations: plain SQL files ``NNN_description.sql`` in the service's
``migrations/`` directory, applied in order by :func:`apply_migrations`, each in
its own transaction with ``search_path`` set to the schema, and recorded with a
checksum in ``<schema>.schema_migrations``. The whole run holds a
session-level ``pg_advisory_lock`` for the schema, so replicas starting at once
apply each migration exactly once: the first does the work, the others wait
and then find nothing left to do. A file whose content changed after it was
applied is refused, not silently skipped.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from calcwire.logs import get_logger

__all__ = [
    "Migration",
    "MigrationError",
    "apply_migrations",
    "check_database",
    "create_pool",
    "load_migrations",
    "redact_url",
]

log = get_logger(__name__)

_MIGRATION_FILE = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Errors that mean "not reachable yet", worth waiting for at start-up. Anything
# else (wrong password, no such database) will not fix itself and fails at once.
_TRANSIENT = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
)


class MigrationError(RuntimeError):
    """A migration file is malformed, was changed after it was applied, or failed."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str
    checksum: str

    @property
    def filename(self) -> str:
        return f"{self.version:03d}_{self.name}.sql"


def redact_url(url: str) -> str:
    """``url`` without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def create_pool(
    dsn: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    application_name: str = "calcwire",
    startup_timeout: float = 60.0,
) -> asyncpg.Pool:
    """Open a pool, waiting up to ``startup_timeout`` seconds for PostgreSQL.

    Raises ``ConnectionError`` when PostgreSQL stays unreachable, and asyncpg's
    own error at once for a failure that waiting cannot fix (authentication,
    unknown database).
    """
    deadline = time.monotonic() + startup_timeout
    delay = 0.1
    while True:
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                max_inactive_connection_lifetime=300.0,
                server_settings={"application_name": application_name},
            )
        except _TRANSIENT as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise ConnectionError(
                    f"PostgreSQL at {redact_url(dsn)} not reachable after {startup_timeout:g}s: {exc}"
                ) from exc
            log.warning(
                "waiting for PostgreSQL", url=redact_url(dsn), error=str(exc), retry_in=delay
            )
            await asyncio.sleep(min(delay, left))
            delay = min(delay * 2, 2.0)
            continue
        assert pool is not None
        return pool


async def check_database(pool: asyncpg.Pool, *, timeout: float = 2.0) -> bool:
    """Whether PostgreSQL answers a trivial query through ``pool`` within ``timeout``.

    A failed check costs the pool the broken connection it used; the next
    acquire opens a fresh one, which is how the pool recovers after a restart.
    """
    try:
        async with pool.acquire(timeout=timeout) as conn:
            await conn.fetchval("SELECT 1", timeout=timeout)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", never a crash
        log.debug("database check failed", error=f"{type(exc).__name__}: {exc}")
        return False


def load_migrations(directory: Path) -> list[Migration]:
    """The migrations in ``directory``, in order; malformed names are an error."""
    if not directory.is_dir():
        raise MigrationError(f"migrations directory {directory} does not exist")
    found: dict[int, Migration] = {}
    for path in sorted(directory.iterdir()):
        if path.suffix != ".sql":
            continue
        match = _MIGRATION_FILE.match(path.name)
        if match is None:
            raise MigrationError(
                f"{path}: migration files are named NNN_description.sql (lower case, digits, _)"
            )
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                f"{path}: version {version} also used by {found[version].filename}"
            )
        sql = path.read_text(encoding="utf-8")
        found[version] = Migration(
            version=version,
            name=match.group(2),
            sql=sql,
            checksum=hashlib.sha256(sql.encode()).hexdigest(),
        )
    return [found[v] for v in sorted(found)]


def _lock_key(schema: str) -> int:
    """A stable signed 64-bit advisory lock key for ``schema``'s migrations."""
    digest = hashlib.sha256(f"calcwire.migrations:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def apply_migrations(
    pool: asyncpg.Pool,
    schema: str,
    migrations: Sequence[Migration] | Path | None,
) -> list[Migration]:
    """Create ``schema`` if needed and apply the migrations not yet recorded there.

    Returns the migrations this call applied (empty when another replica got
    there first). Safe to call from any number of processes at once.
    """
    if not _SCHEMA_NAME.match(schema):
        raise MigrationError(f"schema name {schema!r}: lower case letters, digits and _ only")
    if isinstance(migrations, Path):
        migrations = load_migrations(migrations)
    wanted = list(migrations or ())
    ident = f'"{schema}"'
    key = _lock_key(schema)
    applied_now: list[Migration] = []

    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", key)
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {ident}")
            await conn.execute(
                f"""CREATE TABLE IF NOT EXISTS {ident}.schema_migrations (
                        version    integer PRIMARY KEY,
                        name       text NOT NULL,
                        checksum   text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            rows = await conn.fetch(
                f"SELECT version, name, checksum FROM {ident}.schema_migrations"
            )
            recorded = {row["version"]: row for row in rows}
            for migration in wanted:
                row = recorded.get(migration.version)
                if row is None:
                    continue
                if row["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"{schema}: {migration.filename} changed after it was applied; "
                        "add a new migration instead of editing an applied one"
                    )
            unknown = sorted(set(recorded) - {m.version for m in wanted})
            if unknown:
                # A newer release applied these; running older code beside it is its business.
                log.warning(
                    "database has migrations this code does not know",
                    schema=schema,
                    versions=unknown,
                )

            for migration in wanted:
                if migration.version in recorded:
                    continue
                try:
                    async with conn.transaction():
                        await conn.execute(f"SET LOCAL search_path TO {ident}, public")
                        await conn.execute(migration.sql)
                        await conn.execute(
                            f"INSERT INTO {ident}.schema_migrations (version, name, checksum) "
                            "VALUES ($1, $2, $3)",
                            migration.version,
                            migration.name,
                            migration.checksum,
                        )
                except asyncpg.PostgresError as exc:
                    raise MigrationError(f"{schema}: {migration.filename} failed: {exc}") from exc
                log.info("migration applied", schema=schema, migration=migration.filename)
                applied_now.append(migration)
        finally:
            if not conn.is_closed():
                await conn.execute("SELECT pg_advisory_unlock($1)", key)
    return applied_now
