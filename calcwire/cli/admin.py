"""``calcwire admin keys create|list|revoke``: API keys, directly in the database.

These commands do not go through the gateway (a key is needed to call it, and
they are how keys come to exist): they use the gateway's key store
(:mod:`gateway.store`) on ``DATABASE_URL`` (or ``--database-url``), creating
its schema first if no gateway ever ran there.

::

    calcwire admin keys create --tenant acme [--name ci]   # prints the key, once
    calcwire admin keys list [--tenant acme]
    calcwire admin keys revoke 3f9c0a7d5e21b844

``--json`` prints one JSON document instead (README). Exit status: 0 done; 2
bad input (an invalid tenant or key id, an unknown key); 3 the database cannot
be reached or used. Errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import asyncpg

from calcwire import errors
from calcwire.config import VARIABLES
from calcwire.db import MigrationError, create_pool, redact_url
from calcwire.logs import configure_logging

if TYPE_CHECKING:
    from gateway.keys import ApiKey
    from gateway.store import KeyStore

__all__ = ["key_json", "register"]

_DEFAULT_CONNECT_TIMEOUT: Final = 5.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = subparsers.add_parser(
        "admin",
        help="administer calcwire directly in its database (API keys)",
        description="Administration commands. They work directly against PostgreSQL "
        "(DATABASE_URL), not through the gateway.",
    )
    groups = admin.add_subparsers(dest="admin_group", metavar="GROUP", required=True)
    keys = groups.add_parser(
        "keys",
        help="create, list and revoke API keys",
        description="API keys: each belongs to a tenant and sees only that tenant's models "
        "and jobs. Exit status: 0 done, 2 bad input, 3 database unreachable.",
    )
    commands = keys.add_subparsers(dest="keys_command", metavar="COMMAND", required=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL") or VARIABLES["DATABASE_URL"],
        metavar="URL",
        help="PostgreSQL holding the gateway's keys (default: DATABASE_URL, else %(default)s)",
    )
    common.add_argument(
        "--connect-timeout",
        type=float,
        default=_DEFAULT_CONNECT_TIMEOUT,
        metavar="SECONDS",
        help="how long to wait for PostgreSQL (default %(default)g)",
    )
    common.add_argument("--json", action="store_true", help="print one JSON document")

    create = commands.add_parser(
        "create",
        parents=[common],
        help="issue a key for a tenant and print it (it is shown only this once)",
        description="Issue an API key for TENANT. The key is printed on stdout, alone on "
        "its line (KEY=$(calcwire admin keys create --tenant acme)); it is not stored "
        "and cannot be shown again.",
    )
    create.add_argument("--tenant", required=True, help="the tenant the key acts for")
    create.add_argument("--name", default="", help="a note saying what the key is for")
    create.set_defaults(run=lambda args: _run(args, _create))

    listing = commands.add_parser("list", parents=[common], help="list keys (never their secrets)")
    listing.add_argument("--tenant", help="only this tenant's keys")
    listing.set_defaults(run=lambda args: _run(args, _list))

    revoke = commands.add_parser(
        "revoke",
        parents=[common],
        help="revoke a key: calls with it fail within seconds",
        description="Revoke the key KEY_ID (as `list` shows it). Every gateway stops "
        "accepting it within CALCWIRE_API_KEY_CACHE_SECONDS. Revoking a revoked key "
        "changes nothing.",
    )
    revoke.add_argument("key_id", metavar="KEY_ID", help="the key's id (16 hex digits)")
    revoke.set_defaults(run=lambda args: _run(args, _revoke))


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def key_json(key: ApiKey) -> dict[str, Any]:
    """A key as the ``--json`` output shows it (``gateway.keys.ApiKey``; never its hash)."""
    return {
        "key_id": key.key_id,
        "tenant": key.tenant,
        "name": key.name,
        "state": "revoked" if key.revoked else "active",
        "created_at": _timestamp(key.created_at),
        "revoked_at": _timestamp(key.revoked_at),
    }


def _print_json(document: dict[str, Any]) -> None:
    json.dump(document, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def _say(line: str) -> None:
    print(line, file=sys.stderr)


Command = Callable[[argparse.Namespace, "KeyStore"], Awaitable[int]]


def _run(args: argparse.Namespace, command: Command) -> int:
    # The runtime's log lines (migrations, connection retries) are not this command's
    # output: stdout stays the result, stderr the one-line reason of a failure.
    configure_logging(service="calcwire", production=False, level="error")
    return asyncio.run(_with_store(args, command))


@asynccontextmanager
async def _database(url: str, timeout: float) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on ``url`` with the gateway's schema in place; Unavailable if not."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise errors.InvalidArgument(
            f"database URL {redact_url(url)!r} must start with postgresql://",
            reason="INVALID_DATABASE_URL",
        )
    # Imported here: the gateway's store is only needed by these commands.
    from gateway.store import migrate

    where = redact_url(url)
    try:
        pool = await create_pool(
            url, min_size=1, max_size=2, application_name="calcwire-cli", startup_timeout=timeout
        )
    except (ConnectionError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise errors.Unavailable(
            f"cannot reach PostgreSQL at {where}: {detail}", reason="DATABASE_UNAVAILABLE"
        ) from None
    try:
        try:
            await migrate(pool)
        except (MigrationError, asyncpg.PostgresError, OSError) as exc:
            detail = " ".join(str(exc).split())
            raise errors.Unavailable(
                f"cannot prepare the gateway schema at {where}: {detail}",
                reason="DATABASE_UNAVAILABLE",
            ) from None
        yield pool
    finally:
        await pool.close()


def _check_input(args: argparse.Namespace) -> None:
    """Refuse bad input before connecting to anything."""
    from calcwire.tenancy import check_tenant
    from gateway.keys import check_key_id

    if getattr(args, "tenant", None) is not None:
        check_tenant(args.tenant)
    if getattr(args, "key_id", None) is not None:
        check_key_id(args.key_id)


async def _with_store(args: argparse.Namespace, command: Command) -> int:
    from gateway.store import KeyStore

    _check_input(args)
    async with _database(args.database_url, args.connect_timeout) as pool:
        try:
            return await command(args, KeyStore(pool))
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
            raise errors.Unavailable(
                f"lost PostgreSQL at {redact_url(args.database_url)}: {exc}",
                reason="DATABASE_UNAVAILABLE",
            ) from None


async def _create(args: argparse.Namespace, store: KeyStore) -> int:
    from gateway.keys import create_api_key

    issued = await create_api_key(store, args.tenant, args.name)
    if args.json:
        _print_json({**key_json(issued.key), "key": issued.token})
    else:
        print(issued.token)
        _say(
            f"created API key {issued.key.key_id} for tenant {issued.key.tenant}; "
            "the key above is shown only now: store it"
        )
    return 0


async def _list(args: argparse.Namespace, store: KeyStore) -> int:
    tenant = args.tenant
    keys = await store.list_keys(tenant)
    if args.json:
        _print_json({"keys": [key_json(key) for key in keys]})
        return 0
    if not keys:
        print("no API keys" + (f" for tenant {tenant}" if tenant else ""))
        return 0
    rows = [("KEY ID", "TENANT", "STATE", "CREATED", "REVOKED", "NAME")]
    for key in keys:
        shown = key_json(key)
        rows.append(
            (
                key.key_id,
                key.tenant,
                shown["state"],
                shown["created_at"][:19].replace("T", " "),
                (shown["revoked_at"] or "-")[:19].replace("T", " "),
                key.name,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1])
    return 0


async def _revoke(args: argparse.Namespace, store: KeyStore) -> int:
    from gateway.keys import revoke_api_key

    key, already = await revoke_api_key(store, args.key_id)
    if args.json:
        _print_json({**key_json(key), "already_revoked": already})
    elif already:
        print(
            f"API key {key.key_id} (tenant {key.tenant}) was already revoked "
            f"at {_timestamp(key.revoked_at)}"
        )
    else:
        print(f"revoked API key {key.key_id} (tenant {key.tenant})")
    return 0
