"""Requests to one host start at least `interval` seconds apart, however many are in flight.

Requests to a host take turns: each waits for the previous start plus the interval, measured
from when that start really happened (a late wake-up of the loop never squeezes two requests
together). A source fetching several pages at once still looks to the host like one polite
client. The pacer outlives a poll, so two polls in a row do not start with a burst either.
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
        self._last_start: dict[str, float] = {}
        self._turns: dict[str, asyncio.Lock] = {}

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def wait_turn(self, url: str) -> None:
        """Return when a request to `url`'s host may start (and count it as started)."""
        if self.interval <= 0:
            return
        host = urlparse(url).netloc.lower()
        async with self._turns.setdefault(host, asyncio.Lock()):
            last = self._last_start.get(host)
            if last is not None:
                wait = last + self.interval - self._now()
                if wait > 0:
                    await self._sleep(wait)
            self._last_start[host] = self._now()
