"""Storage backends implementing bot.ports.Backend, one package each, chosen by URL."""

from __future__ import annotations

from bot.poll_leader import PollerLock
from bot.ports import Backend, SendBudget, StorageRefused
from storage.copy import CopyRefused, copy_backend
from storage.memory import MemoryBackend
from storage.sqlite import SqliteBackend

__all__ = [
    "CopyRefused",
    "MemoryBackend",
    "SqliteBackend",
    "StorageUrlError",
    "copy_database",
    "open_backend",
    "open_send_budget",
    "poller_lock",
    "shared_between_processes",
]

ACCEPTED_URLS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite://:memory:, memory://,"
    " postgresql://user@host/db"
)
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})


class StorageUrlError(StorageRefused, ValueError):
    """A storage URL this build cannot open."""


def sqlite_path(url: str) -> str:
    """The file path of a sqlite:// URL (":memory:" for an in-memory database).

    Three slashes start a relative path and four an absolute one, as in SQLAlchemy URLs.
    """
    rest = url.removeprefix("sqlite://")
    if rest == ":memory:":
        return rest
    path = rest.removeprefix("/")
    if rest == path or not path:
        raise StorageUrlError(f"cannot read a database path from {url!r}; use {ACCEPTED_URLS}")
    return path


async def _open_postgres(url: str) -> Backend:
    # asyncpg is an optional dependency (the "postgres" extra): only a PostgreSQL URL needs it.
    try:
        from storage.postgres import PostgresBackend
    except ImportError as exc:
        raise StorageUrlError(
            "a postgresql:// URL needs asyncpg: pip install 'top10bot[postgres]'"
        ) from exc
    return await PostgresBackend.open(url)


def open_send_budget(backend: Backend, setting: str) -> SendBudget | None:
    """The sending budget `[delivery] shared_budget` asks for: None paces in memory ("local";
    "auto" on a store only one process uses); "postgresql" (and "auto" on PostgreSQL) shares it
    through the backend's database with every other sender of the deployment."""
    if setting == "local":
        return None
    try:
        from storage.postgres import PostgresBackend
    except ImportError:  # no asyncpg: the store is not PostgreSQL
        pass
    else:
        if isinstance(backend, PostgresBackend):
            return backend.send_budget()
    if setting == "auto":
        return None
    raise StorageRefused(
        '[delivery] shared_budget = "postgresql" needs a postgresql:// store ([storage] url):'
        " the senders share their budget through that database"
    )


async def open_backend(url: str) -> Backend:
    """Open the backend a URL names and bring its schema up to date; an unknown scheme is an
    error (never a silent in-memory fallback)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        # The text is not echoed: a misplaced DSN may carry a password.
        raise StorageUrlError(f"the storage setting is not a URL; use {ACCEPTED_URLS}")
    backend: Backend
    if scheme == "memory":
        if rest:
            raise StorageUrlError(f"memory:// takes no path; use {ACCEPTED_URLS}")
        backend = MemoryBackend()
    elif scheme == "sqlite":
        backend = await SqliteBackend.open(sqlite_path(url))
    elif scheme in POSTGRES_SCHEMES:
        backend = await _open_postgres(url)
    else:
        raise StorageUrlError(f"unknown storage URL scheme {scheme!r}; use {ACCEPTED_URLS}")
    try:
        await backend.migrate()
    except BaseException:
        await backend.close()
        raise
    return backend


def poller_lock(url: str) -> PollerLock:
    """The "one poller at a time" lock of the store a URL names (nothing is opened yet)."""
    scheme = url.partition("://")[0]
    if scheme in POSTGRES_SCHEMES:
        from storage.postgres.poller_lock import AdvisoryPollerLock

        return AdvisoryPollerLock(url)
    if scheme == "sqlite" and sqlite_path(url) != ":memory:":
        from storage.sqlite.poller_lock import FilePollerLock

        return FilePollerLock(sqlite_path(url))
    from storage.memory.poller_lock import ProcessPollerLock

    return ProcessPollerLock()


def shared_between_processes(url: str) -> bool:
    """Whether another process can open the store a URL names (not memory://, not an
    in-memory SQLite database)."""
    scheme = url.partition("://")[0]
    return scheme in POSTGRES_SCHEMES or (scheme == "sqlite" and sqlite_path(url) != ":memory:")


async def copy_database(source_url: str, target_url: str) -> dict[str, int]:
    """Copy every row of one database into another, empty one (both migrated first); the rows
    copied per table. See storage/copy.py."""
    if source_url == target_url:
        raise CopyRefused("the source and the target are the same database")
    source = await open_backend(source_url)
    try:
        target = await open_backend(target_url)
        try:
            return await copy_backend(source, target)
        finally:
            await target.close()
    finally:
        await source.close()
