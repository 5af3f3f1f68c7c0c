"""Bring a PostgreSQL schema up to date: each migration once, in its own transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from storage import codec
from storage.postgres.connection import Database
from storage.schema import Migration

log = logging.getLogger(__name__)

_CREATE_SCHEMA_VERSION = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""

# Processes that open the same database at once (a poller and a sender starting together) take
# turns: the first applies the migrations, the others then find them applied. The number is
# arbitrary; it only has to be the same for every process of the bot.
_MIGRATION_LOCK = 0x70_31_0B07


async def apply_migrations(
    db: Database, migrations: Sequence[Migration], clock: codec.Clock = codec.utc_now
) -> int:
    """Apply each migration newer than the schema, in version order, each in its own
    transaction (a failing one leaves the schema at the version before it); the version now.

    PostgreSQL runs DDL inside a transaction, so a migration is one script, run whole."""
    async with db.transaction() as tx:
        await tx.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
        await tx.execute(_CREATE_SCHEMA_VERSION)
    for migration in sorted(migrations, key=lambda migration: migration.version):
        async with db.transaction() as tx:
            await tx.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
            rows = await tx.fetch("SELECT coalesce(max(version), 0) FROM schema_version")
            if int(rows[0][0]) >= migration.version:
                continue
            await tx.execute(migration.sql)
            await tx.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                codec.encode_time(clock()),
            )
        log.info("applied migration %04d_%s", migration.version, migration.name)
    return await schema_version(db)


async def applied_migrations(db: Database) -> list[tuple[int, str]]:
    rows = await db.read("SELECT version, name FROM schema_version ORDER BY version")
    return [(int(row[0]), str(row[1])) for row in rows]


async def schema_version(db: Database) -> int:
    rows = await db.read("SELECT coalesce(max(version), 0) FROM schema_version")
    return int(rows[0][0])
