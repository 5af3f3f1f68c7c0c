"""Storage backends implementing bot.ports.Backend, one package each, chosen by URL."""

from __future__ import annotations

from bot.ports import Backend
from storage.memory import MemoryBackend
from storage.sqlite import SqliteBackend

__all__ = ["MemoryBackend", "SqliteBackend", "StorageUrlError", "open_backend"]

ACCEPTED_URLS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite://:memory:, memory://"
)


class StorageUrlError(ValueError):
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
    elif scheme in {"postgresql", "postgres"}:
        raise StorageUrlError(
            "PostgreSQL storage is not available yet: it comes with the scale-out work."
            f" Use {ACCEPTED_URLS}"
        )
    else:
        raise StorageUrlError(f"unknown storage URL scheme {scheme!r}; use {ACCEPTED_URLS}")
    try:
        await backend.migrate()
    except BaseException:
        await backend.close()
        raise
    return backend
