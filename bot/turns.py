"""Long work on the event loop, cut into turns: a command or a paced send waits milliseconds for
it, not its whole length."""

from __future__ import annotations

import asyncio
import time


class Turns:
    """Gives the event loop a turn whenever `every` seconds of work have passed without one, so
    that a long computation costs a command a few milliseconds, not its whole length."""

    def __init__(self, every: float = 0.005) -> None:
        self._every = every
        self._since = time.perf_counter()

    async def take(self) -> None:
        if time.perf_counter() - self._since >= self._every:
            await asyncio.sleep(0)
            self._since = time.perf_counter()
