"""The per-user command rate limit (token bucket, fake clock)."""

from __future__ import annotations

import pytest

from bot.commands.ratelimit import CommandRateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_steady_refill() -> None:
    clock = FakeClock()
    limiter = CommandRateLimiter(burst=3, per_seconds=6, clock=clock)  # one token every 2 s
    assert [limiter.acquire("u") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("u") == pytest.approx(2.0)
    clock.now += 1.0
    assert limiter.acquire("u") == pytest.approx(1.0)  # a refused command takes nothing
    clock.now += 1.0
    assert limiter.acquire("u") == 0.0
    assert limiter.acquire("u") == pytest.approx(2.0)


def test_users_have_separate_buckets_that_never_overfill() -> None:
    clock = FakeClock()
    limiter = CommandRateLimiter(burst=2, per_seconds=10, clock=clock)
    assert limiter.acquire("a") == limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    assert limiter.acquire("b") == 0.0
    clock.now += 3600.0  # a long pause refills to the burst, not beyond
    assert [limiter.acquire("a") for _ in range(3)][-1] > 0


def test_idle_users_are_forgotten() -> None:
    clock = FakeClock()
    limiter = CommandRateLimiter(burst=1, per_seconds=1, clock=clock)
    for user in range(500):
        limiter.acquire(f"user-{user}")
    assert limiter.tracked_users == 500
    clock.now += 7200.0
    for _ in range(1000):  # the sweep runs every 1000 calls
        limiter.acquire("active")
    assert limiter.tracked_users == 1


def test_rejects_nonsense_limits() -> None:
    with pytest.raises(ValueError):
        CommandRateLimiter(burst=0)
    with pytest.raises(ValueError):
        CommandRateLimiter(per_seconds=0)
