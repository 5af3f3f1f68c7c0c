"""Requests to one host start at least `interval` seconds apart, however many are in flight.

Each request reserves the next free start time of its host before it waits for it: reserving
never waits, so concurrent requests line up in the order they asked, and a source that fetches
several pages at once still looks to the host like one polite client. The reservations outlive
a poll, so two polls in a row do not start with a burst either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlparse


class HostPacer:
    def __init__(
        self,
        interval: float,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.interval = interval
        self._sleep = sleep
        self._clock = clock
        self._next_start: dict[str, float] = {}

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def wait_turn(self, url: str) -> None:
        """Return when a request to `url`'s host may start."""
        if self.interval <= 0:
            return
        host = urlparse(url).netloc.lower()
        now = self._now()
        start = max(now, self._next_start.get(host, now))
        self._next_start[host] = start + self.interval
        if start > now:
            await self._sleep(start - now)
