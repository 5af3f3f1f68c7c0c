"""The storage backends the contract suites (storage, outbox, subscriptions) run against.

A new backend joins every suite by adding its name to BACKENDS and a branch to
open_test_backend.
"""

from __future__ import annotations

from pathlib import Path

from bot.ports import Backend
from storage import MemoryBackend, SqliteBackend, codec
from tests.integration.postgres_server import fresh_postgres_url

BACKENDS = ("memory", "sqlite", "postgresql")


async def open_test_backend(kind: str, folder: Path, clock: codec.Clock = codec.utc_now) -> Backend:
    """A fresh, migrated backend of one kind (files, if any, in `folder`)."""
    if kind == "memory":
        return MemoryBackend(clock=clock)
    if kind == "sqlite":
        backend = await SqliteBackend.open(folder / "top10.db", clock=clock)
        await backend.migrate()
        return backend
    if kind == "postgresql":
        from storage.postgres import PostgresBackend

        postgres = await PostgresBackend.open(await fresh_postgres_url(), clock=clock)
        await postgres.migrate()
        return postgres
    raise ValueError(f"no test backend {kind!r}")
