"""The backlog's counts (Outbox.backlog: /metrics, `top10bot status`) read partial indexes of the
rows not sent, never the table: after a year a large bot's table holds tens of millions of sent
rows, and a scan of them (seconds, on SQLite under the read lock every chat command waits for)
froze the bot at every scrape. A later edit of a WHERE clause or of an index's predicate would
silently fall back to that scan; these plans catch it.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]

from storage import SqliteBackend
from storage.outbox_rules import BACKLOG, BACKLOG_DEAD, BACKLOG_FAILED, BACKLOG_OPEN
from storage.postgres import PostgresBackend
from tests.integration.postgres_server import fresh_postgres_url

OPEN_INDEXES = {"deliveries_due", "deliveries_open_by_destination"}
# Each count and the partial indexes it may read.
EXPECTED = {
    BACKLOG_OPEN: OPEN_INDEXES,
    BACKLOG_FAILED: {"deliveries_failed"},
    BACKLOG_DEAD: {"deliveries_dead"},
}


def where(sql: str) -> str:
    """The WHERE clause of a statement, whitespace normalized."""
    return " ".join(sql.split(" WHERE ", 1)[1].split())


def indexes_named(plan: str) -> set[str]:
    return set(re.findall(r"\bdeliveries_[a-z_]+", plan))


async def test_sqlite_counts_the_backlog_from_partial_indexes_only(tmp_path: Path) -> None:
    storage = await SqliteBackend.open(tmp_path / "bot.db")
    await storage.migrate()
    await storage.close()
    with sqlite3.connect(tmp_path / "bot.db") as db:
        predicates = {
            name: " ".join(sql.split(" WHERE ", 1)[1].split())
            for name, sql in db.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'"
            )
        }
        plans = {
            sql: " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for sql in (*EXPECTED, BACKLOG)
        }

    for sql, indexes in EXPECTED.items():
        # SQLite uses a partial index only for a WHERE clause that contains its predicate as
        # written (`IN ('failed', 'pending')` would not do).
        assert {predicates[index] for index in indexes} == {where(sql)}
        assert plans[sql].startswith("SCAN deliveries USING INDEX ")
        assert indexes_named(plans[sql]) <= indexes and indexes_named(plans[sql])
    combined = plans[BACKLOG]
    assert "SCAN deliveries USING INDEX deliveries_failed" in combined
    assert "SCAN deliveries USING INDEX deliveries_dead" in combined
    assert indexes_named(combined) & OPEN_INDEXES
    assert combined.count("SCAN deliveries USING INDEX") == 3
    assert "SCAN deliveries |" not in f"{combined} |"  # no scan of the table itself


async def test_postgresql_counts_the_backlog_from_partial_indexes_only() -> None:
    url = await fresh_postgres_url()
    storage = await PostgresBackend.open(url)
    await storage.migrate()
    await storage.close()
    connection = await asyncpg.connect(url)
    try:
        # An empty table is cheapest read whole: forbid that, so that the plan shows whether an
        # index CAN answer (a predicate the planner cannot match leaves only the scan).
        await connection.execute("SET enable_seqscan = off")
        plans = {
            sql: "\n".join(row[0] for row in await connection.fetch(f"EXPLAIN {sql}"))
            for sql in (*EXPECTED, BACKLOG)
        }
    finally:
        await connection.close()

    for sql, indexes in EXPECTED.items():
        assert "Seq Scan" not in plans[sql], plans[sql]
        assert indexes_named(plans[sql]) <= indexes and indexes_named(plans[sql]), plans[sql]
    combined = plans[BACKLOG]
    assert "Seq Scan" not in combined, combined
    assert {"deliveries_failed", "deliveries_dead"} <= indexes_named(combined), combined
    assert indexes_named(combined) & OPEN_INDEXES, combined
