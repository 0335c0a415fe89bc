"""Per-key limits: a request rate (token bucket) and a number of uploads in flight.

Both are kept in this process's memory, so with N gateway replicas a key gets
up to N times the configured figures (each replica counts on its own); the
README says so. Exceeding either is :class:`calcwire.errors.ResourceExhausted`:

- ``RATE_LIMITED``: the key's bucket is empty. A bucket holds ``burst`` tokens
  and refills at ``per_second``; every call takes one (a stream counts once).
  ErrorInfo metadata ``retry_after_seconds`` says when the next token comes.
- ``TOO_MANY_UPLOADS``: the key already has ``max_uploads`` uploads in flight.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from calcwire import errors

__all__ = ["RateLimiter", "UploadLimiter"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """A token bucket per key. ``per_second`` 0 turns the limit off."""

    def __init__(
        self,
        *,
        per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key_id: str) -> None:
        """Take one token from ``key_id``'s bucket, or raise RATE_LIMITED."""
        if self.per_second <= 0:
            return
        now = self._clock()
        bucket = self._buckets.get(key_id)
        if bucket is None:
            if len(self._buckets) >= self._max_keys:
                self._forget_full_buckets(now)
            bucket = self._buckets[key_id] = _Bucket(tokens=float(self.burst), updated=now)
        else:
            elapsed = max(now - bucket.updated, 0.0)
            bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.per_second)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return
        wait = (1.0 - bucket.tokens) / self.per_second
        raise errors.ResourceExhausted(
            f"rate limit of this API key reached ({self.per_second:g} calls per second, "
            f"bursts of {self.burst}); retry in {wait:.2f} s",
            reason="RATE_LIMITED",
            metadata={"retry_after_seconds": f"{math.ceil(wait * 1000) / 1000:g}"},
        )

    def _forget_full_buckets(self, now: float) -> None:
        """Drop buckets that have refilled: forgetting them changes nothing."""
        refill = self.burst / self.per_second
        for key_id in [k for k, b in self._buckets.items() if now - b.updated >= refill]:
            del self._buckets[key_id]


class UploadLimiter:
    """At most ``max_uploads`` uploads in flight per key."""

    def __init__(self, max_uploads: int) -> None:
        if max_uploads < 1:
            raise ValueError("max_uploads must be at least 1")
        self.max_uploads = max_uploads
        self._in_flight: dict[str, int] = {}

    def in_flight(self, key_id: str) -> int:
        return self._in_flight.get(key_id, 0)

    @asynccontextmanager
    async def slot(self, key_id: str) -> AsyncIterator[None]:
        """Hold one of ``key_id``'s upload slots for the ``async with`` block, or raise
        TOO_MANY_UPLOADS at once (no waiting: the client decides whether to retry)."""
        count = self._in_flight.get(key_id, 0)
        if count >= self.max_uploads:
            raise errors.ResourceExhausted(
                f"this API key already has {count} uploads in flight (at most "
                f"{self.max_uploads}); wait for one to finish",
                reason="TOO_MANY_UPLOADS",
                metadata={"max_concurrent_uploads": str(self.max_uploads)},
            )
        self._in_flight[key_id] = count + 1
        try:
            yield
        finally:
            left = self._in_flight[key_id] - 1
            if left:
                self._in_flight[key_id] = left
            else:
                del self._in_flight[key_id]
