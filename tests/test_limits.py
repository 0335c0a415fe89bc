"""Per-key limits as pure logic, with a test clock (through the gateway: test_gateway_auth.py)."""

from __future__ import annotations

import asyncio

import pytest

from calcwire import errors
from gateway.limits import RateLimiter, UploadLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def limited(limiter: RateLimiter, key: str) -> errors.ResourceExhausted | None:
    try:
        limiter.take(key)
    except errors.ResourceExhausted as exc:
        return exc
    return None


class TestRateLimiter:
    def test_burst_then_the_rate(self) -> None:
        clock = Clock()
        limiter = RateLimiter(per_second=2, burst=3, clock=clock)
        assert [limited(limiter, "k") for _ in range(3)] == [None, None, None]
        refused = limited(limiter, "k")
        assert refused is not None and refused.reason == "RATE_LIMITED"
        assert refused.metadata["retry_after_seconds"] == "0.5"
        clock.now += 0.49
        assert limited(limiter, "k") is not None
        clock.now += 0.01
        assert limited(limiter, "k") is None  # one token refilled
        assert limited(limiter, "k") is not None

    def test_refill_stops_at_the_burst(self) -> None:
        clock = Clock()
        limiter = RateLimiter(per_second=10, burst=2, clock=clock)
        clock.now += 3600
        assert [limited(limiter, "k") is None for _ in range(3)] == [True, True, False]

    def test_each_key_has_its_own_bucket(self) -> None:
        limiter = RateLimiter(per_second=1, burst=1, clock=Clock())
        assert limited(limiter, "a") is None and limited(limiter, "a") is not None
        assert limited(limiter, "b") is None

    def test_zero_rate_means_no_limit(self) -> None:
        limiter = RateLimiter(per_second=0, burst=1, clock=Clock())
        assert all(limited(limiter, "k") is None for _ in range(1000))

    def test_full_buckets_are_forgotten_when_many_keys_come(self) -> None:
        clock = Clock()
        limiter = RateLimiter(per_second=1, burst=2, clock=clock, max_keys=2)
        limiter.take("a")
        limiter.take("b")
        clock.now += 2  # both refilled: forgetting them loses nothing
        limiter.take("c")
        assert set(limiter._buckets) == {"c"}

    def test_a_burst_under_one_is_a_mistake(self) -> None:
        with pytest.raises(ValueError):
            RateLimiter(per_second=1, burst=0)


class TestUploadLimiter:
    async def test_slots_are_held_for_the_block_and_given_back(self) -> None:
        limiter = UploadLimiter(2)
        async with limiter.slot("k"), limiter.slot("k"):
            assert limiter.in_flight("k") == 2
            with pytest.raises(errors.ResourceExhausted) as caught:
                async with limiter.slot("k"):
                    pass
            assert caught.value.reason == "TOO_MANY_UPLOADS"
            async with limiter.slot("other"):
                assert limiter.in_flight("other") == 1
        assert limiter.in_flight("k") == 0 and limiter._in_flight == {}

    async def test_a_failing_or_cancelled_upload_gives_its_slot_back(self) -> None:
        limiter = UploadLimiter(1)
        with pytest.raises(RuntimeError):
            async with limiter.slot("k"):
                raise RuntimeError("upload failed")
        assert limiter.in_flight("k") == 0

        entered = asyncio.Event()

        async def upload() -> None:
            async with limiter.slot("k"):
                entered.set()
                await asyncio.sleep(3600)

        task = asyncio.create_task(upload())
        await entered.wait()
        assert limiter.in_flight("k") == 1
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert limiter.in_flight("k") == 0
