"""The poller lock of a store that lives in one process (memory://, sqlite://:memory:): no other
process can reach the store, so this process's poller is always the only one."""

from __future__ import annotations


class ProcessPollerLock:
    """Implements bot.poll_leader.PollerLock for a store private to this process."""

    def __init__(self) -> None:
        self._held = False

    @property
    def description(self) -> str:
        return "a store private to this process"

    async def try_acquire(self) -> bool:
        self._held = True
        return True

    async def still_held(self) -> bool:
        return self._held

    async def release(self) -> None:
        self._held = False
