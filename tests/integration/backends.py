"""The storage backends the contract suites (storage, outbox, subscriptions) run against.

A new backend (PostgreSQL) joins every suite by adding its name to BACKENDS and a branch to
open_test_backend.
"""

from __future__ import annotations

from pathlib import Path

from bot.ports import Backend
from storage import MemoryBackend, SqliteBackend, codec

BACKENDS = ("memory", "sqlite")


async def open_test_backend(kind: str, folder: Path, clock: codec.Clock = codec.utc_now) -> Backend:
    """A fresh, migrated backend of one kind (files, if any, in `folder`)."""
    if kind == "memory":
        return MemoryBackend(clock=clock)
    if kind == "sqlite":
        backend = await SqliteBackend.open(folder / "top10.db", clock=clock)
        await backend.migrate()
        return backend
    raise ValueError(f"no test backend {kind!r}")
