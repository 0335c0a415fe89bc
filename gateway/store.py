"""All SQL of the gateway: the API keys in schema ``gateway``.

The gateway serves from it (key lookups) and the command line's admin
commands manage it (``calcwire admin keys``), both through :class:`KeyStore`,
which is a :class:`gateway.keys.KeyRepository`. :func:`migrate` creates or
updates the schema; the gateway runs it at start-up, the CLI before its first
query, so keys can be issued before a gateway ever ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import asyncpg

from calcwire.db import apply_migrations
from gateway.keys import ApiKey

__all__ = ["MIGRATIONS", "SCHEMA", "KeyStore", "migrate"]

SCHEMA: Final = "gateway"
MIGRATIONS: Final = Path(__file__).parent / "migrations"

_COLUMNS: Final = "key_id, tenant_id, name, secret_sha256, created_at, revoked_at"


async def migrate(pool: asyncpg.Pool) -> None:
    await apply_migrations(pool, SCHEMA, MIGRATIONS)


def _key(row: asyncpg.Record) -> ApiKey:
    return ApiKey(
        key_id=row["key_id"],
        tenant=row["tenant_id"],
        name=row["name"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        secret_sha256=bytes(row["secret_sha256"]),
    )


class KeyStore:
    """API keys in PostgreSQL."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def insert_key(
        self, key_id: str, tenant: str, name: str, secret_sha256: bytes
    ) -> ApiKey | None:
        row = await self._pool.fetchrow(
            f"""INSERT INTO gateway.api_keys (key_id, tenant_id, name, secret_sha256)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (key_id) DO NOTHING
                RETURNING {_COLUMNS}""",
            key_id,
            tenant,
            name,
            secret_sha256,
        )
        return None if row is None else _key(row)

    async def get_key(self, key_id: str) -> ApiKey | None:
        row = await self._pool.fetchrow(
            f"SELECT {_COLUMNS} FROM gateway.api_keys WHERE key_id = $1", key_id
        )
        return None if row is None else _key(row)

    async def list_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Keys, of one tenant or all, by tenant then oldest first."""
        rows = await self._pool.fetch(
            f"""SELECT {_COLUMNS} FROM gateway.api_keys
                WHERE $1::text IS NULL OR tenant_id = $1
                ORDER BY tenant_id, created_at, key_id""",
            tenant,
        )
        return [_key(row) for row in rows]

    async def revoke_key(self, key_id: str) -> tuple[ApiKey, bool] | None:
        row = await self._pool.fetchrow(
            f"""WITH before AS (
                    SELECT key_id, revoked_at FROM gateway.api_keys WHERE key_id = $1 FOR UPDATE)
                UPDATE gateway.api_keys AS k SET revoked_at = coalesce(k.revoked_at, now())
                FROM before WHERE k.key_id = before.key_id
                RETURNING {", ".join("k." + c for c in _COLUMNS.split(", "))},
                          before.revoked_at IS NOT NULL AS was_revoked""",
            key_id,
        )
        return None if row is None else (_key(row), row["was_revoked"])
