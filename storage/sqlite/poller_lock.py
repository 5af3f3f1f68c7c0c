"""The poller lock on SQLite: an exclusive `flock` on a file beside the database.

SQLite is a single-host store, and so is this lock: the kernel releases it when the process
holding it exits, however it exits (a SIGKILL included), so a standby never waits for a lease to
run out. The file holds the holder's pid for the operator; its content is not the lock.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_SUFFIX = ".poller-lock"


def lock_path(database: str | Path) -> Path:
    """`top10bot.db` → `top10bot.db.poller-lock`."""
    path = Path(database)
    return path.with_name(path.name + LOCK_SUFFIX)


class FilePollerLock:
    """Implements bot.poll_leader.PollerLock with fcntl.flock (Linux, macOS)."""

    def __init__(self, database: str | Path) -> None:
        self.path = lock_path(database).resolve()
        self._fd: int | None = None

    @property
    def description(self) -> str:
        return f"file lock {self.path}"

    async def try_acquire(self) -> bool:
        if self._fd is not None:
            return await self.still_held()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    async def still_held(self) -> bool:
        """Held as long as our descriptor is open and still names the file at `path` (a file
        deleted and made again could be locked by another process)."""
        if self._fd is None:
            return False
        try:
            ours, there = os.fstat(self._fd), os.stat(self.path)
        except FileNotFoundError:
            return False
        return (ours.st_dev, ours.st_ino) == (there.st_dev, there.st_ino)

    async def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the last descriptor of the open file releases the flock
