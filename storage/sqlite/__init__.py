"""SQLite storage: one file holds the chart history, the outbox and the subscriptions."""

from storage.sqlite.backend import SqliteBackend

__all__ = ["SqliteBackend"]
