"""PostgreSQL storage: the chart history, the outbox and the subscriptions in one database."""

from storage.postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
