"""Invariants the PostgreSQL schema and unit of work hold, as the SQLite-only tests of
test_storage_contract.py check them for SQLite: the database refuses a second event of a key and
a delivery of no event, and a batch is stored whole or not at all (a cancelled save: see
test_storage_contract.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg  # type: ignore[import-untyped]
import pytest

from bot.ports import Batch
from bot.subscriptions import Destination, SubscriptionSpec
from storage import codec
from storage.postgres import PostgresBackend
from storage.schema import load_migrations
from tests.integration.postgres_server import fresh_postgres_url
from tests.integration.test_storage_contract import DAY_1, NETFLIX_TV_US, chart, event, save

BATCH = Batch(
    accepted=[chart(NETFLIX_TV_US, DAY_1, "A")],
    chart_states={NETFLIX_TV_US: {"top": ["a"]}},
    events=[event("A")],
)


@pytest.fixture
async def store() -> AsyncIterator[PostgresBackend]:
    backend = await PostgresBackend.open(await fresh_postgres_url())
    try:
        await backend.migrate()
        await backend.subscriptions.add_subscription(
            Destination("telegram", "1"), SubscriptionSpec(service="netflix")
        )
        yield backend
    finally:
        await backend.close()


async def test_a_stored_event_key_is_refused_by_the_database(store: PostgresBackend) -> None:
    await save(store, Batch(events=[event("A")]))
    key, *_ = codec.event_row(event("A"))
    with pytest.raises(asyncpg.UniqueViolationError):
        await store.database.execute(
            "INSERT INTO events (key, type, source, service, region, category, granularity,"
            " period, title_id, data) VALUES ($1, 'x', '', '', '', '', '', '', '', '{}')",
            key,
        )
    assert await save(store, Batch(events=[event("A"), event("B")])) == [event("B")]
    rows = await store.database.read("SELECT count(*) FROM events WHERE key = $1", key)
    assert rows[0][0] == 1


async def test_a_delivery_cannot_refer_to_a_missing_event(store: PostgresBackend) -> None:
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await store.database.execute(
            "INSERT INTO deliveries (event_id, destination_id, platform, due_at, created_at,"
            " updated_at) VALUES (12345, 1, 'telegram', '', '', '')"
        )


async def test_a_failing_queue_stores_nothing_of_the_batch(store: PostgresBackend) -> None:
    await store.database.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN RAISE EXCEPTION 'outbox unavailable'; END $$;"
        " CREATE TRIGGER refuse BEFORE INSERT ON deliveries EXECUTE FUNCTION refuse()"
    )
    with pytest.raises(asyncpg.RaiseError, match="outbox unavailable"):
        await store.save_batch(BATCH, queue_deliveries=True)
    assert not await store.has_chart(NETFLIX_TV_US, DAY_1)
    assert await store.load_chart_state(NETFLIX_TV_US) is None
    assert await store.recent_events() == []
    assert await store.all_titles() == []

    # History queues nothing, so the same batch stores.
    assert await save(store, BATCH) == [event("A")]
    assert (await store.outbox.counts()).pending == 0


def test_each_sqlite_migration_from_0006_on_has_a_postgresql_one_of_its_number() -> None:
    """PostgreSQL starts at SQLite's schema 0006 (0006_initial.sql); a later SQLite migration
    needs its PostgreSQL spelling under the same number, or the backends' schemas part."""
    sqlite = [m.version for m in load_migrations("sqlite") if m.version >= 6]
    assert [m.version for m in load_migrations("postgres")] == sqlite
