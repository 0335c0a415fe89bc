"""The compiled-model cache: LRU within a memory budget, one build for concurrent callers,
a new version rebuilt; and an eval_svc of its own with a 1 MiB budget that evicts for real."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import grpc.aio
import pytest
from eval_helpers import EvalClient
from import_helpers import internal_metadata
from test_eval_pipeline import uploaded
from tests_support import TEST_SERVICE_ENV

from calcwire.devstack import LocalStack, free_port, wait_for_health
from calcwire.devstack.processes import ManagedProcess, spawn
from calcwire.wire import value_from_proto
from calcwire.workbook.model import Cell, Sheet, Workbook
from calcwire.workbook.writer import workbook_bytes
from eval_svc.cache import Entry, ModelCache, estimate_bytes


class TestModelCache:
    async def test_least_recently_used_goes_first_when_over_budget(self) -> None:
        cache: ModelCache[str] = ModelCache(budget_bytes=100)

        def make(value: str, size: int) -> object:
            async def build() -> Entry[str]:
                return Entry(value, "v1", size)
            return build

        for key in ("a", "b", "c"):
            await cache.get(("t", key), "v1", make(key, 40))  # type: ignore[arg-type]
        assert cache.keys() == [("t", "b"), ("t", "c")] and cache.used == 80
        _, warm = await cache.get(("t", "b"), "v1", make("b", 40))  # type: ignore[arg-type]
        assert warm
        await cache.get(("t", "d"), "v1", make("d", 40))  # type: ignore[arg-type]
        assert cache.keys() == [("t", "b"), ("t", "d")]
        big, warm = await cache.get(("t", "e"), "v1", make("e", 101))  # type: ignore[arg-type]
        assert big.value == "e" and not warm and ("t", "e") not in cache  # too big to keep

    async def test_concurrent_callers_share_one_build(self) -> None:
        cache: ModelCache[int] = ModelCache(budget_bytes=1 << 20)
        builds = 0

        async def build() -> Entry[int]:
            nonlocal builds
            builds += 1
            await asyncio.sleep(0.05)
            return Entry(builds, "v1", 10)

        got = await asyncio.gather(*(cache.get(("t", "m"), "v1", build) for _ in range(5)))
        assert builds == 1 and {e.value for e, _ in got} == {1}
        assert [warm for _, warm in got] == [False] * 5

    async def test_a_new_version_is_built_again_and_a_failed_build_is_not_kept(self) -> None:
        cache: ModelCache[str] = ModelCache(budget_bytes=1 << 20)

        async def v1() -> Entry[str]:
            return Entry("one", "v1", 10)

        async def v2() -> Entry[str]:
            return Entry("two", "v2", 10)

        async def broken() -> Entry[str]:
            raise RuntimeError("no")

        await cache.get(("t", "m"), "v1", v1)
        entry, warm = await cache.get(("t", "m"), "v2", v2)
        assert (entry.value, warm) == ("two", False)
        with pytest.raises(RuntimeError):
            await cache.get(("t", "x"), "v1", broken)
        assert ("t", "x") not in cache

    def test_the_estimate_grows_with_formulas_and_cells(self) -> None:
        assert estimate_bytes(50_000, 50_000) > estimate_bytes(50_000, 0) > estimate_bytes(0, 0)
        assert 50e6 < estimate_bytes(51_000, 50_000) < 80e6  # the calibration's 50k model


# --------------------------------------------------------------------------- a real service


def model_of(formulas: int, seed: float) -> bytes:
    """About ``formulas`` formula cells in a chain from Inputs!A1; estimated ~1.5 KB each."""
    cells = [Cell(1, 1, seed)] + [Cell(r, 1, None, formula=f"A{r - 1}+1")
                                  for r in range(2, formulas + 2)]
    return workbook_bytes(Workbook(sheets=[Sheet("Inputs", cells=cells)]))


@pytest.fixture(scope="module")
async def tiny_cache_eval(services: LocalStack, internal_secret: str
                          ) -> AsyncIterator[tuple[grpc.aio.Channel, ManagedProcess]]:
    """A second eval_svc (gRPC only) with CALCWIRE_EVAL_CACHE_MB=1, on the session's stack."""
    listen = f"127.0.0.1:{free_port()}"
    process = spawn(
        "eval-tiny-cache",
        [sys.executable, "-m", "eval_svc"],
        log=services.logs / "eval-tiny-cache.log",
        env={**services.service_env({**TEST_SERVICE_ENV, "CALCWIRE_ROLE": "server",
                                     "CALCWIRE_EVAL_CACHE_MB": "1"}),
             "CALCWIRE_LISTEN": listen},
        die_with_parent=True,
    )
    try:
        await wait_for_health(listen, timeout=60, process=process)
        async with grpc.aio.insecure_channel(listen) as channel:
            yield channel, process
    finally:
        process.stop()


@pytest.mark.stack
async def test_a_tiny_budget_keeps_one_model_and_concurrent_colds_compile_once(
    client: EvalClient, tiny_cache_eval: tuple[grpc.aio.Channel, ManagedProcess],
    internal_secret: str, services: LocalStack,
) -> None:
    channel, _ = tiny_cache_eval
    # ~400 formulas: estimated 0.6 MiB each, so a 1 MiB budget holds one of them
    first, _ = await uploaded(client, model_of(400, 1.0))
    second, _ = await uploaded(client, model_of(400, 2.0))
    tiny = EvalClient(channel, client.tenant, internal_metadata(internal_secret, client.tenant))

    async def warm(model: str) -> bool:
        answer = await tiny.calculate(model, ["Inputs!A401"])
        assert value_from_proto(answer.outputs[0].value) == (1.0 if model == first else 2.0) + 400
        return answer.warm

    answers = await asyncio.gather(*(tiny.calculate(first, ["Inputs!A2"]) for _ in range(4)))
    assert not all(a.warm for a in answers)  # (a caller later than the compile finds it warm)
    log = (services.logs / "eval-tiny-cache.log").read_text()
    assert log.count("model compiled for what-if") == 1  # four cold callers, one compile

    assert await warm(first)
    assert not await warm(second)  # evicts the first
    assert await warm(second)
    assert not await warm(first)  # compiled again
