"""Pieces shared by the fake Telegram and Discord servers: rate windows and state waiting."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    """At most `limit` admissions in any interval of `window_s` seconds.

    Used for Telegram, whose flood control is not documented in detail: a sliding window is the
    strictest reading of "N per period", so a sender that passes it passes the real server too.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._admitted: deque[float] = deque()

    def _expire(self, now: float) -> None:
        while self._admitted and self._admitted[0] <= now - self.window_s:
            self._admitted.popleft()

    def wait_needed(self, now: float) -> float:
        """Seconds until one more admission fits (0.0 when it fits now)."""
        self._expire(now)
        if len(self._admitted) < self.limit:
            return 0.0
        return self._admitted[0] + self.window_s - now

    def admit(self, now: float) -> None:
        self._expire(now)
        self._admitted.append(now)


class FixedWindow:
    """`limit` admissions per window that starts at the first request and resets as a whole.

    Discord buckets behave this way (X-RateLimit-Reset-After is the end of the current window),
    and discord.py's bucket logic assumes it: after sleeping until the reset it sends a full
    window's worth of requests again.
    """

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._window_start: float | None = None
        self._used = 0

    def _roll(self, now: float) -> None:
        if self._window_start is not None and now >= self._window_start + self.window_s:
            self._window_start = None
            self._used = 0

    def wait_needed(self, now: float) -> float:
        self._roll(now)
        if self._used < self.limit or self._window_start is None:
            return 0.0
        return self._window_start + self.window_s - now

    def admit(self, now: float) -> None:
        self._roll(now)
        if self._window_start is None:
            self._window_start = now
        self._used += 1

    def remaining(self, now: float) -> int:
        self._roll(now)
        return self.limit - self._used

    def reset_after(self, now: float) -> float:
        self._roll(now)
        if self._window_start is None:
            return self.window_s
        return self._window_start + self.window_s - now


def ceil_ms(seconds: float) -> float:
    """Round a wait up to whole milliseconds (as Discord does): a client that sleeps exactly
    the advertised time must not arrive before the window has really reset."""
    return math.ceil(seconds * 1000) / 1000


class StateChanges:
    """Lets a test await a condition on a fake's state instead of sleeping.

    Every mutation of the fake calls `notify()`; `wait_until()` re-checks its predicate after
    each one. The timeout is a bound against hangs, not a timing assertion.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(
        self, predicate: Callable[[], bool], max_wait_s: float, description: str
    ) -> None:
        try:
            async with asyncio.timeout(max_wait_s):
                while not predicate():
                    await self._event.wait()
        except TimeoutError:
            raise TimeoutError(
                f"fake server: still waiting after {max_wait_s}s for {description}"
            ) from None
