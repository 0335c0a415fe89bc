"""validation_svc's store on the harness's PostgreSQL: a run's write replaces the model's
earlier results in one transaction, and the reads page through them."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import pytest

from calcwire.db import apply_migrations
from calcwire.names import new_id
from calcwire.values import XlError
from validation_svc.compare import Status, Tolerance
from validation_svc.domain import CellResult, SheetRef
from validation_svc.store import ValidationStore
from validation_svc.summary import SummaryBuilder

pytestmark = pytest.mark.stack

MIGRATIONS = Path(__file__).resolve().parents[2] / "validation_svc" / "migrations"
SHEETS = [SheetRef(0, "Inputs"), SheetRef(1, "Model")]


@pytest.fixture(scope="module")
async def store(db_pool: asyncpg.Pool) -> ValidationStore:
    await apply_migrations(db_pool, "validation", MIGRATIONS)
    return ValidationStore(db_pool)


def sample(scale: float = 1.0) -> list[CellResult]:
    """Every status and every kind of value, on two sheets."""
    out = [
        CellResult(0, "Inputs", 1, 2, "B1*2", 2.0, 2.0, Status.MATCH, None, 0.0),
        CellResult(0, "Inputs", 2, 2, "NOW()", 45000.5, 45001.25, Status.VOLATILE,
                   "depends on a volatile function", 0.75),
        CellResult(0, "Inputs", 3, 2, "FOO(1)", XlError.NAME, None, Status.NOT_COMPUTABLE,
                   "unsupported function: FOO", None),
        CellResult(1, "Model", 1, 1, "A1&\"x\"", "ax", "ay", Status.MISMATCH, None, None),
        CellResult(1, "Model", 1, 3, "C1", True, False, Status.NOT_CACHED, "no value", None),
        CellResult(1, "Model", 2, 2, "B1", "n/a", 4.0, Status.MISMATCH,
                   "cached text, computed number", None),
        CellResult(1, "Model", 4, 4, "D3", 1.0, 1.0, Status.CIRCULAR, "cycle", None),
    ]
    out += [CellResult(1, "Model", 10 + i, 5, f"E{i}", 100.0, 100.0 + i * scale,
                       Status.MISMATCH, None, i * scale) for i in range(1, 8)]
    return sorted(out, key=lambda r: r.key)


async def batches(results: Sequence[CellResult], size: int = 3,
                  fail_after: int | None = None) -> AsyncIterator[list[CellResult]]:
    for n, start in enumerate(range(0, len(results), size)):
        if fail_after is not None and n == fail_after:
            raise RuntimeError("the run broke")
        yield list(results[start:start + size])


async def write(store: ValidationStore, tenant: str, model: str, results: list[CellResult],
                job: str | None = None, *, fail_after: int | None = None,
                before_commit: Callable[[], Awaitable[None]] | None = None) -> int:
    builder = SummaryBuilder(SHEETS)

    async def fed() -> AsyncIterator[list[CellResult]]:
        async for batch in batches(results, fail_after=fail_after):
            builder.add(batch)
            yield batch

    return await store.replace_results(
        tenant, model, fed(),
        lambda: builder.build(model_id=model, job_id=job or new_id(), tolerance=Tolerance(0.1, 0),
                              calc_mode="manual", create_time=datetime.now(UTC)),
        before_commit=before_commit)


async def everything(store: ValidationStore, tenant: str, model: str) -> list[CellResult]:
    return await store.list_results(tenant, model, [], None, None, 10_000)


class TestReplace:
    async def test_round_trip(self, store: ValidationStore) -> None:
        model, job = new_id(), new_id()
        results = sample()
        assert await write(store, "acme", model, results, job) == len(results)
        assert await everything(store, "acme", model) == results
        summary = await store.get_summary("acme", model)
        assert summary is not None
        assert summary.job_id == job and summary.tolerance == Tolerance(0.1, 0)
        assert summary.totals.formula_cells == len(results) and summary.totals.mismatch == 9
        assert [(s.index, s.name, s.counts.formula_cells) for s in summary.sheets] == [
            (0, "Inputs", 3), (1, "Model", 11)]
        assert summary.calc_mode == "manual" and summary.findings
        assert [r.row for r in summary.largest_mismatches] == [17, 16, 15, 14, 13, 12, 11, 1, 2]
        assert summary.largest_mismatches[-1].cached == "n/a"
        assert summary.largest_mismatches[-1].reason == "cached text, computed number"

    async def test_a_second_run_replaces_the_first(self, store: ValidationStore) -> None:
        model = new_id()
        await write(store, "acme", model, sample())
        second = sample(scale=2.0)[3:]
        await write(store, "acme", model, second)
        assert await everything(store, "acme", model) == second
        summary = await store.get_summary("acme", model)
        assert summary is not None and summary.totals.formula_cells == len(second)

    async def test_a_failed_or_cancelled_run_leaves_the_earlier_results(
        self, store: ValidationStore
    ) -> None:
        model = new_id()
        first = sample()
        await write(store, "acme", model, first)
        with pytest.raises(RuntimeError):
            await write(store, "acme", model, sample(scale=3.0), fail_after=2)

        class Cancelled(Exception):
            pass

        async def cancel() -> None:
            raise Cancelled

        with pytest.raises(Cancelled):
            await write(store, "acme", model, sample(scale=3.0), before_commit=cancel)
        assert await everything(store, "acme", model) == first
        never = new_id()
        with pytest.raises(Cancelled):
            await write(store, "acme", never, first, before_commit=cancel)
        assert await store.get_summary("acme", never) is None
        assert await everything(store, "acme", never) == []

    async def test_tenants_do_not_see_each_other(self, store: ValidationStore) -> None:
        model = new_id()
        await write(store, "acme", model, sample())
        assert await store.get_summary("other", model) is None
        assert await everything(store, "other", model) == []
        assert await store.get_results("other", model, [(0, 1, 2)], None) == {}
        assert await store.delete_model("other", model) is False
        assert await store.delete_model("acme", model) is True
        assert await everything(store, "acme", model) == []


class TestReads:
    async def test_mismatches_largest_first_then_the_rest(self, store: ValidationStore) -> None:
        model = new_id()
        await write(store, "acme", model, sample())
        rows, after = [], None
        while True:
            page = await store.list_mismatches("acme", model, None, after, 2)
            if not page:
                break
            rows += page
            last = page[-1]
            assert last.mismatch_rank is not None
            after = (last.mismatch_rank, *last.key)
        assert [r.row for r in rows] == [17, 16, 15, 14, 13, 12, 11, 1, 2]
        assert rows[-1].mismatch_rank == math.inf
        only_inputs = await store.list_mismatches("acme", model, 0, None, 100)
        assert only_inputs == []

    async def test_statuses_sheets_and_batch_get(self, store: ValidationStore) -> None:
        model = new_id()
        results = sample()
        await write(store, "acme", model, results)
        uncalculated = await store.list_results(
            "acme", model, [Status.NOT_CACHED, Status.NOT_COMPUTABLE, Status.CIRCULAR], None,
            None, 100)
        assert [(r.key, r.status) for r in uncalculated] == [
            ((0, 3, 2), Status.NOT_COMPUTABLE), ((1, 1, 3), Status.NOT_CACHED),
            ((1, 4, 4), Status.CIRCULAR)]
        on_model = await store.list_results("acme", model, [Status.NOT_CACHED,
                                                           Status.CIRCULAR], 1, (1, 1, 3), 100)
        assert [r.key for r in on_model] == [(1, 4, 4)]
        found = await store.get_results("acme", model, [(1, 2, 2), (0, 9, 9), (0, 1, 2)], None)
        assert set(found) == {(1, 2, 2), (0, 1, 2)} and found[(1, 2, 2)].computed == 4.0
        mismatching = await store.get_results("acme", model, [(1, 2, 2), (0, 1, 2)],
                                              Status.MISMATCH)
        assert set(mismatching) == {(1, 2, 2)}
