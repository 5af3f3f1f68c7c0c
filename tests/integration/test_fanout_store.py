"""Queueing a burst's deliveries (storage/fanout.py) on every backend: exactly the chats the rules
match; on the SQL stores in short transactions, a chat's rows of one batch never split over two;
and a queueing interrupted half way is finished by queue_unfinished, in the next process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.events import Event, EventType, Tier
from bot.models import ALL_REGIONS, WORLD, ChartKey
from bot.ports import Backend, Batch
from bot.subscriptions import ChatSettings, Destination, SubscriptionSpec, subscription_matches
from storage import fanout_chunks
from storage.postgres import PostgresBackend
from storage.postgres import fanout as postgres_fanout
from storage.sqlite import SqliteBackend
from storage.sqlite import fanout as sqlite_fanout
from tests.integration.backends import BACKENDS, open_test_backend
from tests.integration.postgres_server import fresh_postgres_url

T0 = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
WEEK = date(2026, 3, 1)
E = EventType
CHUNK = 3


def chart(region: str, category: str = "TV") -> ChartKey:
    return ChartKey("netflix", "netflix", region, category, "weekly")


def event(kind: EventType, title: str, key: ChartKey, **fields: Any) -> Event:
    return Event(kind, key, WEEK, title.lower(), title, None, **fields)


# A Tuesday in small: countries, the world lists and a family-wide event, every tier.
BURST = [
    event(E.NEW_NUMBER_ONE, "Alpha", chart("KR"), rank=1, previous_rank=3),
    event(E.ENTERED, "Beta", chart("KR"), rank=4, debut=True),
    event(E.LEFT, "Gamma", chart("KR"), previous_rank=9),
    event(E.NEW_NUMBER_ONE, "Alpha", chart("US"), rank=1),
    event(E.TOP10_STREAK, "Delta", chart("US", "Films"), rank=5, value=3, unit="weeks"),
    event(E.CLIMBED, "Beta", chart(WORLD, "TV (Non-English)"), rank=2, previous_rank=9),
    event(E.RECORD_BROKEN, "Alpha", chart(WORLD, "TV (Non-English)"), rank=1),
    event(E.COUNTRIES_AT_NUMBER_ONE, "Alpha", chart(ALL_REGIONS), value=25, qualifier="25"),
    event(E.LOST_NUMBER_ONE, "Gamma", chart("JP", "Films"), rank=2, previous_rank=1),
]
# Each chat's subscriptions; the last one takes everything, so it has rows in the last chunk.
CHATS: list[tuple[str, list[SubscriptionSpec]]] = [
    ("1", [SubscriptionSpec(region="KR")]),
    ("2", [SubscriptionSpec(region="KR", details=True), SubscriptionSpec(show="alpha")]),
    ("3", [SubscriptionSpec(show="alpha")]),
    ("4", [SubscriptionSpec(region=WORLD)]),
    ("5", [SubscriptionSpec(category="Films", details=True)]),
    ("6", [SubscriptionSpec(event_types=frozenset({E.RECORD_BROKEN}))]),
    ("7", [SubscriptionSpec(show="beta", region="KR", event_types=frozenset({E.ENTERED}))]),
    ("8", [SubscriptionSpec(region="FR")]),
    (
        "9",
        [
            SubscriptionSpec(show="gamma"),
            SubscriptionSpec(region="JP", details=True),
            SubscriptionSpec(category="TV (Non-English)"),
        ],
    ),
    ("10", [SubscriptionSpec(service="netflix", details=True)]),
]
EXPECTED = {
    (item.key, Destination("telegram", chat))
    for chat, specs in CHATS
    for item in BURST
    if any(subscription_matches(spec, ChatSettings(), item) for spec in specs)
}


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks of a few rows, so that this burst takes several transactions, and pages of three
    destinations, so that the filters are read in several."""
    monkeypatch.setattr(sqlite_fanout, "CHUNK_ROWS", CHUNK)
    monkeypatch.setattr(postgres_fanout, "CHUNK_ROWS", CHUNK)
    monkeypatch.setattr(fanout_chunks, "DESTINATIONS_PER_PAGE", 3)


async def subscribe_chats(store: Backend) -> None:
    for chat, specs in CHATS:
        for spec in specs:
            await store.subscriptions.add_subscription(Destination("telegram", chat), spec)


async def queued(store: Backend) -> set[tuple[str, Destination]]:
    """Every open delivery, as the sender claims them."""
    found: set[tuple[str, Destination]] = set()
    while groups := await store.outbox.claim("telegram", T0, timedelta(minutes=5), 100):
        found |= {(d.event.key, group.destination) for group in groups for d in group.deliveries}
    return found


@pytest.mark.parametrize("kind", BACKENDS)
async def test_a_burst_reaches_exactly_the_chats_the_rules_match(kind: str, tmp_path: Path) -> None:
    store = await open_test_backend(kind, tmp_path, clock=lambda: T0)
    try:
        await subscribe_chats(store)
        saved = await store.save_batch(Batch(events=BURST), queue_deliveries=True)
        again = await store.save_batch(Batch(events=BURST), queue_deliveries=True)

        assert saved.queued == len(EXPECTED) > 3 * CHUNK  # several chunks
        assert again.queued == 0
        assert await store.queue_unfinished() == 0  # nothing left marked
        assert await queued(store) == EXPECTED
    finally:
        await store.close()


Opener = Callable[[], Awaitable[Backend]]


@pytest.fixture(params=["sqlite", "postgresql"])
async def reopen(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens the same database again each time it is called, as a new process would."""
    opened: list[Backend] = []
    url = await fresh_postgres_url() if request.param == "postgresql" else ""

    async def open_again() -> Backend:
        store: SqliteBackend | PostgresBackend
        if url:
            store = await PostgresBackend.open(url, clock=lambda: T0)
        else:
            store = await SqliteBackend.open(tmp_path / "top10.db", clock=lambda: T0)
        await store.migrate()
        opened.append(store)
        return store

    yield open_again
    for store in opened:
        await store.close()


async def execute(store: Backend, sql: str) -> None:
    assert isinstance(store, SqliteBackend | PostgresBackend)
    await store.database.execute(sql)


REFUSE_LAST_CHAT = {
    SqliteBackend: (
        "CREATE TRIGGER refuse BEFORE INSERT ON deliveries"
        " WHEN NEW.destination_id = (SELECT max(id) FROM destinations)"
        " BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END",
        "DROP TRIGGER refuse",
    ),
    PostgresBackend: (
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " IF NEW.destination_id = (SELECT max(id) FROM destinations) THEN"
        " RAISE EXCEPTION 'outbox unavailable'; END IF; RETURN NEW; END $$;"
        " CREATE TRIGGER refuse BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION refuse()",
        "DROP TRIGGER refuse ON deliveries",
    ),
}


async def test_a_queueing_that_fails_half_way_is_finished_by_the_next_process(
    reopen: Opener,
) -> None:
    """The burst's events are stored with the first chunk; a later chunk fails (the last chat's
    rows are refused). The events stay marked, and the next process's queue_unfinished queues
    what is missing, each delivery once."""
    store = await reopen()
    await subscribe_chats(store)
    refuse, allow = REFUSE_LAST_CHAT[type(store)]  # type: ignore[index]
    await execute(store, refuse)
    with pytest.raises(Exception, match="outbox unavailable"):
        await store.save_batch(Batch(events=BURST), queue_deliveries=True)
    assert len(await store.recent_events(100)) == len(BURST)  # stored, with the first chunk
    partial = await queued(store)
    assert partial and partial < EXPECTED
    await execute(store, allow)
    await store.close()

    later = await reopen()
    assert await later.queue_unfinished() == len(EXPECTED) - len(partial)
    assert await later.queue_unfinished() == 0
    released_again = T0 + timedelta(minutes=10)  # the first claims' leases have run out
    found: set[tuple[str, Destination]] = set()
    while groups := await later.outbox.claim("telegram", released_again, timedelta(hours=1), 100):
        found |= {(d.event.key, group.destination) for group in groups for d in group.deliveries}
    assert found == EXPECTED
    assert (await later.outbox.counts()).pending == len(EXPECTED)


async def test_a_chats_rows_of_one_batch_are_queued_in_one_transaction(
    reopen: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """So the sender, which may claim the first chunks while the next are inserted, sends each
    chat its whole burst in one digest."""
    store = await reopen()
    await subscribe_chats(store)
    chunks: list[set[int]] = []
    fanout_class = type(store._fanout)  # type: ignore[attr-defined]
    insert = fanout_class.insert

    async def spy(self: Any, tx: Any, rows: Any, now: str, **options: Any) -> int:
        chunks.append({destination_id for _, destination_id, _ in rows})
        return await insert(self, tx, rows, now, **options)

    monkeypatch.setattr(fanout_class, "insert", spy)
    saved = await store.save_batch(Batch(events=BURST), queue_deliveries=True)

    assert saved.queued == len(EXPECTED)
    assert len(chunks) > 3
    every = [destination for chunk in chunks for destination in chunk]
    assert len(every) == len(set(every))  # no chat in two chunks


async def test_many_rows_in_one_chunk_and_a_second_queueing_that_finds_them_all(
    reopen: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows go in many per statement (SQLite: 100 at a time, the rest one by one); queueing the
    same events again (their marks found by queue_unfinished) inserts nothing and says so."""
    monkeypatch.setattr(sqlite_fanout, "CHUNK_ROWS", 1000)
    monkeypatch.setattr(postgres_fanout, "CHUNK_ROWS", 1000)
    store = await reopen()
    chats = [Destination("telegram", str(1000 + number)) for number in range(123)]
    for chat in chats:
        await store.subscriptions.add_subscription(chat, SubscriptionSpec(region="KR"))
    korean = [item for item in BURST if item.chart.region == "KR" and item.tier is Tier.HEADLINE]

    saved = await store.save_batch(Batch(events=BURST), queue_deliveries=True)
    assert saved.queued == len(chats) * len(korean) == 246

    await execute(store, "INSERT INTO unqueued_events (event_id) SELECT id FROM events")
    assert await store.queue_unfinished() == 0
    assert await store.queue_unfinished() == 0  # the marks went with it
    assert await queued(store) == {(item.key, chat) for chat in chats for item in korean}
