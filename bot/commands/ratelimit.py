"""A per-user command rate limit: a token bucket per user, in memory, with an injectable clock.

Chat platforms limit what the bot may send (Telegram ~1 message/s per chat, Discord ~5 messages
per 5 s per channel): a user who types commands faster than that would make the bot hit those
ceilings on everyone's behalf, so each user gets a small burst and a steady refill.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]

# Buckets untouched for this long are full again and can be forgotten (bounds the memory used).
_FORGET_AFTER_SECONDS = 3600.0
_SWEEP_EVERY_CALLS = 1000


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class CommandRateLimiter:
    """`burst` commands at once, then one every `per_seconds / burst` seconds, per user key."""

    def __init__(self, burst: int = 5, per_seconds: float = 10.0, clock: Clock = time.monotonic):
        if burst < 1 or per_seconds <= 0:
            raise ValueError("burst must be at least 1 and per_seconds positive")
        self._burst = float(burst)
        self._refill_per_second = burst / per_seconds
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._calls = 0
        # A bucket idle for `per_seconds` is full again; forgetting it then changes nothing.
        self._forget_after = max(_FORGET_AFTER_SECONDS, per_seconds)

    def acquire(self, user_key: str) -> float:
        """Take one command from the user's bucket.

        Returns 0.0 when the command may run, otherwise the seconds until it could (nothing taken).
        """
        now = self._clock()
        self._calls += 1
        if self._calls % _SWEEP_EVERY_CALLS == 0:
            self._forget_idle(now)
        bucket = self._buckets.get(user_key)
        if bucket is None:
            bucket = self._buckets[user_key] = _Bucket(self._burst, now)
        else:
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self._burst, bucket.tokens + elapsed * self._refill_per_second)
            bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self._refill_per_second

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, b in self._buckets.items() if now - b.updated > self._forget_after]
        for key in idle:
            del self._buckets[key]

    @property
    def tracked_users(self) -> int:
        return len(self._buckets)
