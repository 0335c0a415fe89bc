"""Migrations and the pool, against the harness's real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest

from calcwire.db import (
    MigrationError,
    apply_migrations,
    check_database,
    create_pool,
    load_migrations,
    redact_url,
)


def write(directory: Path, files: dict[str, str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, sql in files.items():
        (directory / name).write_text(sql)
    return directory


@pytest.fixture
def schema() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


# Not idempotent on purpose: applied twice, they fail.
MIGRATIONS = {
    "001_init.sql": "CREATE TABLE things (id int PRIMARY KEY); CREATE TABLE runs (n int);",
    "002_more.sql": "ALTER TABLE things ADD COLUMN name text; INSERT INTO runs VALUES (2);",
    "003_last.sql": "INSERT INTO runs VALUES (3);",
}


class TestLoadMigrations:
    def test_in_version_order_with_checksums(self, tmp_path: Path) -> None:
        write(tmp_path, {"010_b.sql": "B", "002_a.sql": "A", "README.md": "ignored"})
        found = load_migrations(tmp_path)
        assert [(m.version, m.name, m.filename) for m in found] == [
            (2, "a", "002_a.sql"),
            (10, "b", "010_b.sql"),
        ]
        assert found[0].checksum != found[1].checksum

    @pytest.mark.parametrize("name", ["1_short.sql", "001-dash.sql", "001_Upper.sql", "init.sql"])
    def test_malformed_name_is_refused(self, tmp_path: Path, name: str) -> None:
        write(tmp_path, {name: "SELECT 1"})
        with pytest.raises(MigrationError, match="NNN_description.sql"):
            load_migrations(tmp_path)

    def test_duplicate_version_is_refused(self, tmp_path: Path) -> None:
        write(tmp_path, {"001_a.sql": "", "001_b.sql": ""})
        with pytest.raises(MigrationError, match="version 1 also used"):
            load_migrations(tmp_path)

    def test_missing_directory_is_an_error(self, tmp_path: Path) -> None:
        with pytest.raises(MigrationError, match="does not exist"):
            load_migrations(tmp_path / "nope")


class TestApplyMigrations:
    async def test_applies_in_order_and_records_them(
        self, db_pool: asyncpg.Pool, schema: str, tmp_path: Path
    ) -> None:
        applied = await apply_migrations(db_pool, schema, write(tmp_path, MIGRATIONS))
        assert [m.filename for m in applied] == list(MIGRATIONS)
        rows = await db_pool.fetch(
            f"SELECT version, name FROM {schema}.schema_migrations ORDER BY version"
        )
        assert [(r["version"], r["name"]) for r in rows] == [(1, "init"), (2, "more"), (3, "last")]
        # search_path was the schema: unqualified names landed in it.
        assert await db_pool.fetchval(f"SELECT count(*) FROM {schema}.runs") == 2

    async def test_second_run_applies_nothing(
        self, db_pool: asyncpg.Pool, schema: str, tmp_path: Path
    ) -> None:
        directory = write(tmp_path, MIGRATIONS)
        await apply_migrations(db_pool, schema, directory)
        assert await apply_migrations(db_pool, schema, directory) == []

    async def test_new_file_is_applied_later(
        self, db_pool: asyncpg.Pool, schema: str, tmp_path: Path
    ) -> None:
        directory = write(tmp_path, {"001_init.sql": MIGRATIONS["001_init.sql"]})
        await apply_migrations(db_pool, schema, directory)
        write(directory, {"002_more.sql": MIGRATIONS["002_more.sql"]})
        assert [m.version for m in await apply_migrations(db_pool, schema, directory)] == [2]

    async def test_edited_applied_migration_is_refused(
        self, db_pool: asyncpg.Pool, schema: str, tmp_path: Path
    ) -> None:
        directory = write(tmp_path, {"001_init.sql": "CREATE TABLE a (x int);"})
        await apply_migrations(db_pool, schema, directory)
        write(directory, {"001_init.sql": "CREATE TABLE a (x bigint);"})
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await apply_migrations(db_pool, schema, directory)

    async def test_failing_migration_rolls_back_alone(
        self, db_pool: asyncpg.Pool, schema: str, tmp_path: Path
    ) -> None:
        directory = write(
            tmp_path,
            {
                "001_ok.sql": "CREATE TABLE ok (x int);",
                "002_bad.sql": "CREATE TABLE half (x int); SELECT nope;",
            },
        )
        with pytest.raises(MigrationError, match="002_bad.sql failed"):
            await apply_migrations(db_pool, schema, directory)
        assert await db_pool.fetchval(f"SELECT max(version) FROM {schema}.schema_migrations") == 1
        assert await db_pool.fetchval("SELECT to_regclass($1)", f"{schema}.half") is None
        # The advisory lock was released: a fixed file goes through.
        write(directory, {"002_bad.sql": "CREATE TABLE half (x int);"})
        assert [m.version for m in await apply_migrations(db_pool, schema, directory)] == [2]

    async def test_no_migrations_still_creates_schema_and_table(
        self, db_pool: asyncpg.Pool, schema: str
    ) -> None:
        assert await apply_migrations(db_pool, schema, None) == []
        assert await db_pool.fetchval(f"SELECT count(*) FROM {schema}.schema_migrations") == 0

    async def test_bad_schema_name_is_refused(self, db_pool: asyncpg.Pool) -> None:
        with pytest.raises(MigrationError, match="schema name"):
            await apply_migrations(db_pool, 'x"; DROP TABLE y; --', None)

    async def test_concurrent_runners_apply_each_migration_once(
        self, database_url: str, schema: str, tmp_path: Path
    ) -> None:
        """Replicas starting at once: eight runners, each with its own pool."""
        directory = write(tmp_path, MIGRATIONS)
        pools = [await create_pool(database_url, min_size=1, max_size=1) for _ in range(8)]
        try:
            results = await asyncio.gather(*(apply_migrations(p, schema, directory) for p in pools))
            versions = sorted(m.version for applied in results for m in applied)
            assert versions == [1, 2, 3]  # all of them, each by exactly one runner
            assert await pools[0].fetchval(f"SELECT count(*) FROM {schema}.runs") == 2
            assert await pools[0].fetchval(f"SELECT count(*) FROM {schema}.schema_migrations") == 3
        finally:
            await asyncio.gather(*(p.close() for p in pools))


class TestPool:
    async def test_check_database(self, db_pool: asyncpg.Pool) -> None:
        assert await check_database(db_pool)

    async def test_unreachable_server_fails_after_timeout(self) -> None:
        from calcwire.devstack import free_port

        with pytest.raises(ConnectionError, match="not reachable after 0.3s"):
            await create_pool(
                f"postgresql://postgres@127.0.0.1:{free_port()}/x", startup_timeout=0.3
            )

    async def test_unknown_database_fails_at_once(self, database_url: str) -> None:
        wrong = database_url.rsplit("/", 1)[0] + "/no_such_database"
        with pytest.raises(asyncpg.InvalidCatalogNameError):
            await create_pool(wrong, startup_timeout=30)

    def test_redact_url(self) -> None:
        assert redact_url("postgresql://u:secret@h:5/db") == "postgresql://u:***@h:5/db"
        assert redact_url("postgresql://u@h/db") == "postgresql://u@h/db"
