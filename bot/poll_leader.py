"""At most one poller per store: the process holding the store's poller lock polls, any other
stands by and takes over when the lock is free again.

Several processes may run `top10bot run` (role `all` or `poller`) on one database. Their polls
would be harmless — an event is stored once by its UNIQUE key, a delivery once per chat — but
each would fetch every file and page (FlixPatrol counts requests) and diff the same charts. So
the poller takes a lock the store implements (`PollerLock`, storage/: a PostgreSQL session
advisory lock, a file lock beside a SQLite file) before it starts polling:

- free: this process polls, and checks every `retry_seconds` that it still holds the lock;
- held by another process: this one logs once that it stands by, and tries again every
  `retry_seconds`; the holder's death (its connection or file descriptor gone) frees the lock;
- lost while polling (the connection holding it broke): polling stops at once, and the process
  stands by like any other. A poll running at that moment finishes or is cancelled; what it
  committed is whole (one transaction per batch), and the next poller redoes the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

log = logging.getLogger(__name__)

# How often a standby tries to take over, and the active poller checks its lock (seconds).
DEFAULT_TAKEOVER_SECONDS: Final = 5.0


class PollerLock(Protocol):
    """The store's "one poller at a time" lock, held for the life of a poller.

    Released when the holding process dies, however it dies: a lock that outlived a SIGKILL
    would stop every standby for good."""

    @property
    def description(self) -> str:
        """What the lock is, for the log ("PostgreSQL advisory lock on schema public")."""
        ...

    async def try_acquire(self) -> bool:
        """Take the lock if it is free (or already ours); never waits for another holder."""
        ...

    async def still_held(self) -> bool:
        """Whether this process still holds it (False once the connection holding it broke).
        May raise: an error counts as lost."""
        ...

    async def release(self) -> None:
        """Give the lock up (and close what held it); nothing when it is not held."""
        ...


class Polling(Protocol):
    """A running poller (handlers/scheduler.PollingService)."""

    async def stop(self) -> None: ...


StartPolling = Callable[[], Awaitable[Polling | None]]


async def poll_while_leading(
    lock: PollerLock,
    start: StartPolling,
    *,
    retry_seconds: float = DEFAULT_TAKEOVER_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Poll (through `start`) whenever this process holds `lock`; stand by while another does.
    Runs until cancelled; polling is stopped and the lock released on the way out."""
    standing_by = False
    try:
        while True:
            if not await _acquired(lock):
                if not standing_by:
                    log.warning(
                        "poller: standing by, another process polls this database (%s);"
                        " trying to take over every %g s",
                        lock.description,
                        retry_seconds,
                    )
                    standing_by = True
                await sleep(retry_seconds)
                continue
            log.warning(
                "poller: %s, polling (%s)",
                "took over" if standing_by else "this process is the active poller",
                lock.description,
            )
            standing_by = False
            try:
                await _poll_until_lost(lock, start, retry_seconds, sleep)
            except Exception:  # could not start: give the lock to a standby, try again later
                log.exception("poller: polling failed; standing by")
            else:
                log.error(
                    "poller: lost the lock (%s); polling stopped, standing by", lock.description
                )
            standing_by = True
            await sleep(retry_seconds)
    finally:
        await _release(lock)


async def _poll_until_lost(
    lock: PollerLock,
    start: StartPolling,
    retry_seconds: float,
    sleep: Callable[[float], Awaitable[None]],
) -> None:
    polling = await start()
    try:
        while await _held(lock):
            await sleep(retry_seconds)
    finally:
        if polling is not None:
            await polling.stop()
        await _release(lock)


async def _acquired(lock: PollerLock) -> bool:
    try:
        return await lock.try_acquire()
    except Exception as exc:  # the database is down: stand by, try again later
        log.warning("poller: could not take the lock: %s: %s", type(exc).__name__, exc)
        return False


async def _held(lock: PollerLock) -> bool:
    try:
        return await lock.still_held()
    except Exception as exc:
        log.warning("poller: could not check the lock: %s: %s", type(exc).__name__, exc)
        return False


async def _release(lock: PollerLock) -> None:
    try:
        await lock.release()
    except Exception as exc:  # what held it is gone already, and the lock with it
        log.debug("poller: releasing the lock: %s", exc)


async def try_poll_once(lock: PollerLock) -> bool:
    """For `poll --once`: take the lock without waiting; False (and nothing done) when another
    process polls. The caller releases it."""
    return await _acquired(lock)
