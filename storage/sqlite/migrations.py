"""Bring a SQLite database's schema up to date: each migration once, in its own transaction."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from storage import codec
from storage.schema import Migration
from storage.sqlite.connection import Database, Transaction

log = logging.getLogger(__name__)

# Databases made before the storage packages keep this table and its rows as they are.
_CREATE_SCHEMA_VERSION = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""


async def apply_migrations(
    db: Database, migrations: Sequence[Migration], clock: codec.Clock = codec.utc_now
) -> int:
    """Apply each migration newer than the schema, in version order, each in its own
    transaction (a failing one leaves the schema at the version before it); the version now."""
    await db.execute(_CREATE_SCHEMA_VERSION)
    current = await schema_version(db)
    for migration in sorted(migrations, key=lambda migration: migration.version):
        if migration.version <= current:
            continue
        async with db.transaction(foreign_keys_off=migration.foreign_keys_off) as tx:
            # Another process may have applied it while this one waited for the write lock.
            if await _schema_version(tx) >= migration.version:
                continue
            for statement in migration.statements():
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, codec.encode_time(clock())),
            )
        log.info("applied migration %04d_%s", migration.version, migration.name)
    return await schema_version(db)


async def applied_migrations(db: Database) -> list[tuple[int, str]]:
    rows = await db.read("SELECT version, name FROM schema_version ORDER BY version")
    return [(int(row[0]), str(row[1])) for row in rows]


async def schema_version(db: Database) -> int:
    rows = await db.read("SELECT coalesce(max(version), 0) FROM schema_version")
    return int(rows[0][0])


async def _schema_version(tx: Transaction) -> int:
    rows = await tx.fetch("SELECT coalesce(max(version), 0) FROM schema_version")
    return int(rows[0][0])
