"""Compiled models kept in memory for Calculate: an LRU bounded by a memory budget.

A compiled and calculated model is what makes a what-if answer fast (only the
cells an override reaches are recomputed), and also what costs memory, so the
cache holds the most recently used ones within ``CALCWIRE_EVAL_CACHE_MB``.

Size: :func:`estimate_bytes` is a per-cell estimate calibrated by measurement,
not a measurement of each model (tracemalloc slows compiling several times, and
RSS growth is blurred by other threads' allocations and by freed memory being
reused). Measured with tracemalloc after ``compile_workbook`` + ``calculate()``
on generated financial models of 5k-50k formula cells: 720-970 bytes per
formula cell for the compiled graph and values, plus about 200 bytes per
non-empty cell for the workbook the model keeps. The estimate takes
1,000 + 250 bytes per formula cell and 250 per other cell, plus 64 KiB.

Concurrency: :meth:`ModelCache.get` builds a missing entry once, however many
callers ask for it at the same time (the others wait for the same build; a
failed build fails them all and is not cached). An entry whose ``version`` no
longer matches the model's (it was imported again) is dropped and rebuilt.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Generic, TypeVar

__all__ = ["CacheKey", "Entry", "ModelCache", "estimate_bytes"]

_BYTES_PER_FORMULA: Final = 1_000
_BYTES_PER_CELL: Final = 250
_BYTES_FIXED: Final = 64 * 1024

_V = TypeVar("_V")

CacheKey = tuple[str, str]
"""(tenant, model id)."""


def estimate_bytes(cells: int, formulas: int) -> int:
    """The memory a compiled, calculated model of ``cells`` non-empty cells (``formulas`` of
    them formulas) takes, by the calibration in the module docstring."""
    return _BYTES_FIXED + _BYTES_PER_FORMULA * formulas + _BYTES_PER_CELL * cells


@dataclass(slots=True)
class Entry(Generic[_V]):
    """A cached value, the model version it was built from, and its estimated size."""

    value: _V
    version: str
    size: int


@dataclass(slots=True)
class _Stats:
    hits: int = 0
    builds: int = 0
    evictions: int = 0
    evicted: list[CacheKey] = field(default_factory=list)


class ModelCache(Generic[_V]):
    """Least recently used entries first out, while their sizes add up to more than the budget.

    An entry larger than the whole budget is returned to its caller but not kept.
    """

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self._entries: OrderedDict[CacheKey, Entry[_V]] = OrderedDict()
        self._building: dict[CacheKey, asyncio.Future[Entry[_V]]] = {}
        self.stats = _Stats()

    @property
    def used(self) -> int:
        return sum(e.size for e in self._entries.values())

    def __contains__(self, key: CacheKey) -> bool:
        return key in self._entries

    def keys(self) -> list[CacheKey]:
        """Least recently used first."""
        return list(self._entries)

    def drop(self, key: CacheKey) -> None:
        self._entries.pop(key, None)

    async def get(
        self, key: CacheKey, version: str, build: Callable[[], Awaitable[Entry[_V]]]
    ) -> tuple[Entry[_V], bool]:
        """The entry of ``key`` at ``version`` and whether it was already there (warm).

        ``build()`` makes it when it is missing or stale; concurrent callers share one build.
        """
        while True:
            entry = self._entries.get(key)
            if entry is not None:
                if entry.version == version:
                    self._entries.move_to_end(key)
                    self.stats.hits += 1
                    return entry, True
                del self._entries[key]  # the model changed since it was compiled
            pending = self._building.get(key)
            if pending is None:
                break
            try:
                built = await asyncio.shield(pending)
            except asyncio.CancelledError:
                if pending.cancelled():
                    continue  # the caller that was building went away: build it here
                raise
            if built.version == version:
                return built, False
            # built from an older version than this caller saw: build again
        future: asyncio.Future[Entry[_V]] = asyncio.get_running_loop().create_future()
        self._building[key] = future
        try:
            entry = await build()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        else:
            future.set_result(entry)
        finally:
            self._building.pop(key, None)
        self.stats.builds += 1
        self._keep(key, entry)
        return entry, False

    def _keep(self, key: CacheKey, entry: Entry[_V]) -> None:
        if entry.size > self.budget:
            return
        self._entries[key] = entry
        self._entries.move_to_end(key)
        used = self.used
        while used > self.budget and self._entries:
            old_key, old = self._entries.popitem(last=False)
            used -= old.size
            self.stats.evictions += 1
            self.stats.evicted.append(old_key)
