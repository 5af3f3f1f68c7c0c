"""One contract for the chart store of every backend (memory and SQLite), plus SQLite-only facts.

A PostgreSQL backend joins through tests/integration/backends.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.events import Event, EventType, Record, RecordHolder
from bot.models import WORLD, Chart, ChartKey, Entry, Rejection
from bot.ports import Backend, Batch, RankPoint, RankTally, Storage, TitleHit
from bot.subscriptions import Destination, SubscriptionSpec
from storage import MemoryBackend, SqliteBackend, codec, open_backend
from storage.schema import Migration, load_migrations, split_statements
from tests.integration.backends import BACKENDS, open_test_backend
from tests.integration.postgres_server import fresh_postgres_url

NETFLIX_TV_US = ChartKey("flixpatrol", "netflix", "US", "TV Shows", "daily")
NETFLIX_TV_FR = ChartKey("flixpatrol", "netflix", "FR", "TV Shows", "daily")
NETFLIX_TV_DE = ChartKey("flixpatrol", "netflix", "DE", "TV Shows", "daily")
NETFLIX_MOVIES_US = ChartKey("flixpatrol", "netflix", "US", "Movies", "daily")
DISNEY_TV_US = ChartKey("flixpatrol", "disney", "US", "TV Shows", "daily")
OFFICIAL_TV = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
TV_FAMILY = NETFLIX_TV_US.family()

DAY_1 = date(2024, 3, 1)
DAY_2 = date(2024, 3, 2)
DAY_3 = date(2024, 3, 3)


class FakeClock:
    """Returns `now`; tests move it."""

    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def entry(rank: int, title: str, season: str | None = None, **numbers: Any) -> Entry:
    title_id = title.casefold() + (f"|{season.casefold()}" if season else "")
    return Entry(rank, title_id, title, season, **numbers)


def chart(key: ChartKey, period: date, *titles: str, **extra: str) -> Chart:
    """A chart ranking `titles` 1, 2, 3 …"""
    entries = tuple(entry(rank, title) for rank, title in enumerate(titles, start=1))
    return Chart(key, period, entries, extra=dict(extra))


def event(
    title: str,
    period: date = DAY_1,
    key: ChartKey = NETFLIX_TV_US,
    kind: EventType = EventType.NEW_NUMBER_ONE,
) -> Event:
    return Event(kind, key, period, title.casefold(), title, None, rank=1, previous_rank=4)


async def save(store: Storage, batch: Batch) -> list[Event]:
    """Store history (nothing queued); the events that were new."""
    return (await store.save_batch(batch, queue_deliveries=False)).events


@pytest.fixture(params=BACKENDS)
async def storage_and_clock(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Backend, FakeClock]]:
    clock = FakeClock()
    store = await open_test_backend(request.param, tmp_path, clock)
    yield store, clock
    await store.close()


@pytest.fixture
def storage(storage_and_clock: tuple[Backend, FakeClock]) -> Backend:
    return storage_and_clock[0]


@pytest.fixture
def clock(storage_and_clock: tuple[Backend, FakeClock]) -> FakeClock:
    return storage_and_clock[1]


# -- migrations ----------------------------------------------------------------------------------


async def test_migrate_is_idempotent_and_reports_the_newest_version(storage: Storage) -> None:
    newest = max(migration.version for migration in load_migrations())
    assert newest >= 1
    assert await storage.migrate() == newest
    assert await storage.migrate() == newest


# -- charts --------------------------------------------------------------------------------------


async def test_a_chart_round_trips_every_entry_field(storage: Storage) -> None:
    entries = (
        Entry(
            rank=1,
            title_id="wednesday|season 2",
            title="Wednesday",
            season="Season 2",
            points=913,
            days_in_top10=12,
            weeks_in_top10=3,
            hours=101_400_000,
            views=16_300_000,
            runtime=6.2166666666666667,
        ),
        # Listed order is kept, even when it is not rank order (a source's tie).
        entry(3, "Élite", "Temporada 8"),
        entry(2, "Squid Game: The Challenge", points=None, hours=0),
    )
    stored = Chart(OFFICIAL_TV, date(2024, 8, 11), entries, expected_size=3, extra={"etag": "x1"})

    assert await save(storage, Batch(accepted=[stored])) == []

    loaded = await storage.latest_chart(OFFICIAL_TV)
    assert loaded == stored
    assert loaded is not None
    assert loaded.entries == entries
    assert loaded.extra == {"etag": "x1"}
    assert loaded.expected_size == 3
    assert loaded.parse_error is None


async def test_extra_is_a_copy_not_shared_with_the_caller(storage: Storage) -> None:
    original = chart(NETFLIX_TV_US, DAY_1, "A", source_url="https://example.test/a")
    await save(storage, Batch(accepted=[original]))
    original.extra["source_url"] = "changed"

    loaded = await storage.latest_chart(NETFLIX_TV_US)
    assert loaded is not None
    assert loaded.extra == {"source_url": "https://example.test/a"}


async def test_storing_a_chart_again_replaces_the_same_key_and_period(storage: Storage) -> None:
    first = chart(NETFLIX_TV_US, DAY_1, "Typo Titel", "Beta")
    corrected = chart(NETFLIX_TV_US, DAY_1, "Typo Title", "Beta", "Gamma")
    await save(storage, Batch(accepted=[first, chart(NETFLIX_TV_FR, DAY_1, "Beta")]))
    await save(storage, Batch(accepted=[corrected]))

    assert await storage.latest_chart(NETFLIX_TV_US) == corrected
    assert [c.key.region for c in await storage.family_charts(TV_FAMILY, DAY_1)] == ["FR", "US"]
    # Nothing of the replaced chart lingers in the title indexes.
    assert await storage.title_history("typo titel") == []
    assert await storage.search_titles("typo") == [TitleHit("typo title", "Typo Title", None)]
    titles = [hit.title for hit in await storage.all_titles()]
    assert titles == ["Beta", "Gamma", "Typo Title"]
    assert await storage.title_history("beta") == [
        RankPoint(NETFLIX_TV_FR, DAY_1, 1),
        RankPoint(NETFLIX_TV_US, DAY_1, 2),
    ]


async def test_a_replaced_title_stays_while_another_chart_mentions_it(storage: Storage) -> None:
    await save(
        storage,
        Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "Kept"), chart(NETFLIX_TV_US, DAY_2, "Kept")]),
    )
    await save(storage, Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "Other")]))

    assert await storage.search_titles("kept") == [TitleHit("kept", "Kept", None)]
    assert await storage.title_history("kept") == [RankPoint(NETFLIX_TV_US, DAY_2, 1)]


async def test_the_last_chart_of_a_key_and_period_in_one_batch_wins(storage: Storage) -> None:
    early = chart(NETFLIX_TV_US, DAY_1, "Early")
    late = chart(NETFLIX_TV_US, DAY_1, "Late")
    await save(storage, Batch(accepted=[early, late]))

    assert await storage.latest_chart(NETFLIX_TV_US) == late
    assert await storage.all_titles() == [TitleHit("late", "Late", None)]


async def test_replacing_many_charts_at_once(storage: Storage) -> None:
    regions = [f"R{index:03d}" for index in range(400)]
    keys = [replace(NETFLIX_TV_US, region=region) for region in regions]
    await save(storage, Batch(accepted=[chart(key, DAY_1, "Old") for key in keys]))
    await save(storage, Batch(accepted=[chart(key, DAY_1, "New") for key in keys]))

    stored = await storage.family_charts(TV_FAMILY, DAY_1)
    assert [c.key.region for c in stored] == regions
    assert {c.entries[0].title for c in stored} == {"New"}
    assert await storage.all_titles() == [TitleHit("new", "New", None)]
    assert len(await storage.title_history("new")) == 400


async def test_latest_chart_optionally_at_or_before_a_date(storage: Storage) -> None:
    charts = [chart(NETFLIX_TV_US, day, f"Top of {day}") for day in (DAY_1, DAY_2, DAY_3)]
    # Stored out of order: "latest" is about the period, not the order of arrival.
    await save(storage, Batch(accepted=[charts[2], charts[0]]))
    await save(storage, Batch(accepted=[charts[1], chart(NETFLIX_TV_FR, DAY_3, "X")]))

    assert await storage.latest_chart(NETFLIX_TV_US) == charts[2]
    assert await storage.latest_chart(NETFLIX_TV_US, on_or_before=DAY_2) == charts[1]
    assert await storage.latest_chart(NETFLIX_TV_US, on_or_before=DAY_3 + timedelta(9)) == charts[2]
    assert await storage.latest_chart(NETFLIX_TV_US, on_or_before=DAY_1 - timedelta(1)) is None
    assert await storage.latest_chart(NETFLIX_MOVIES_US) is None


async def test_has_chart(storage: Storage) -> None:
    await save(storage, Batch(accepted=[chart(NETFLIX_TV_US, DAY_2, "A")]))

    assert await storage.has_chart(NETFLIX_TV_US, DAY_2)
    assert not await storage.has_chart(NETFLIX_TV_US, DAY_1)
    assert not await storage.has_chart(NETFLIX_TV_FR, DAY_2)


async def test_chart_keys_are_sorted_and_filter_by_source(storage: Storage) -> None:
    await save(
        storage,
        Batch(
            accepted=[
                chart(OFFICIAL_TV, DAY_3, "A"),
                chart(NETFLIX_TV_US, DAY_1, "A"),
                chart(NETFLIX_TV_US, DAY_2, "A"),
                chart(DISNEY_TV_US, DAY_1, "A"),
                chart(NETFLIX_TV_FR, DAY_1, "A"),
            ]
        ),
    )

    assert await storage.chart_keys() == [DISNEY_TV_US, NETFLIX_TV_FR, NETFLIX_TV_US, OFFICIAL_TV]
    assert await storage.chart_keys(source="netflix") == [OFFICIAL_TV]
    assert await storage.chart_keys(source="the-numbers") == []


async def test_chart_keys_are_written_with_the_charts_once_each(storage: Storage) -> None:
    # No engine state is stored with these charts: the keys do not come from chart_state.
    await save(storage, Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "A")]))
    await save(
        storage,
        Batch(
            accepted=[
                chart(NETFLIX_TV_US, DAY_2, "A"),
                chart(NETFLIX_TV_US, DAY_1, "B"),  # replaces the stored chart of DAY_1
                chart(NETFLIX_MOVIES_US, DAY_2, "C"),
            ]
        ),
    )
    await save(storage, Batch(accepted=[chart(NETFLIX_MOVIES_US, DAY_2, "D")]))  # replaced only

    assert await storage.chart_keys() == [NETFLIX_MOVIES_US, NETFLIX_TV_US]
    assert await storage.load_chart_state(NETFLIX_TV_US) is None


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_chart_keys_another_process_adds_are_seen(kind: str, tmp_path: Path) -> None:
    """A gateway reads the keys a poller process stores (the reader keeps its sorted list until
    the table grows)."""
    url = await fresh_postgres_url() if kind == "postgresql" else f"sqlite:///{tmp_path / 'k.db'}"
    poller, gateway = await open_backend(url), await open_backend(url)
    try:
        await poller.migrate()
        await save(poller, Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "A")]))
        assert await gateway.chart_keys() == [NETFLIX_TV_US]
        await save(poller, Batch(accepted=[chart(NETFLIX_TV_US, DAY_2, "A")]))  # no new key
        assert await gateway.chart_keys() == [NETFLIX_TV_US]
        await save(poller, Batch(accepted=[chart(NETFLIX_TV_FR, DAY_2, "A")]))
        assert await gateway.chart_keys() == [NETFLIX_TV_FR, NETFLIX_TV_US]
        assert await gateway.chart_keys(source="netflix") == []
    finally:
        await poller.close()
        await gateway.close()


async def test_a_rejected_chart_is_not_a_chart(storage: Storage) -> None:
    refused = Rejection(chart(NETFLIX_TV_US, DAY_1, "Only one row"), "1 row, expected 10")
    await save(storage, Batch(rejected=[refused]))

    assert await storage.chart_keys() == []
    assert not await storage.has_chart(NETFLIX_TV_US, DAY_1)
    assert await storage.all_titles() == []


async def test_family_charts_are_every_region_of_one_period_sorted(storage: Storage) -> None:
    await save(
        storage,
        Batch(
            accepted=[
                chart(NETFLIX_TV_US, DAY_1, "A"),
                chart(NETFLIX_TV_FR, DAY_1, "B"),
                chart(NETFLIX_TV_DE, DAY_1, "C"),
                chart(NETFLIX_TV_DE, DAY_2, "D"),  # another period
                chart(NETFLIX_MOVIES_US, DAY_1, "E"),  # another category
                chart(DISNEY_TV_US, DAY_1, "F"),  # another service
            ]
        ),
    )

    found = await storage.family_charts(TV_FAMILY, DAY_1)
    assert [(c.key.region, c.entries[0].title) for c in found] == [
        ("DE", "C"),
        ("FR", "B"),
        ("US", "A"),
    ]
    assert await storage.family_charts(TV_FAMILY, DAY_3) == []


async def test_latest_period_is_the_newest_in_any_region(storage: Storage) -> None:
    assert await storage.latest_period(TV_FAMILY) is None
    await save(
        storage,
        Batch(
            accepted=[
                chart(NETFLIX_TV_US, DAY_1, "A"),
                chart(NETFLIX_TV_FR, DAY_2, "A"),
                chart(NETFLIX_MOVIES_US, DAY_3, "A"),
            ]
        ),
    )

    assert await storage.latest_period(TV_FAMILY) == DAY_2
    assert await storage.latest_period(NETFLIX_MOVIES_US.family()) == DAY_3


# -- rejections ----------------------------------------------------------------------------------


async def test_rejections_come_back_newest_first(storage: Storage, clock: FakeClock) -> None:
    first = Rejection(chart(NETFLIX_TV_US, DAY_1, "A"), "1 row, expected 10")
    second = Rejection(
        Chart(OFFICIAL_TV, DAY_2, (), parse_error="HTML instead of TSV"), "HTML instead of TSV"
    )
    third = Rejection(chart(NETFLIX_TV_FR, DAY_2, "A", "B"), "duplicate rank 1")
    await save(storage, Batch(rejected=[first]))
    clock.now += timedelta(minutes=5)
    await save(storage, Batch(rejected=[second, third]))

    stored = await storage.recent_rejections()
    assert [(r.key, r.period, r.reason, r.rows) for r in stored] == [
        (NETFLIX_TV_FR, DAY_2, "duplicate rank 1", 2),  # same time as `second`, stored later
        (OFFICIAL_TV, DAY_2, "HTML instead of TSV", 0),
        (NETFLIX_TV_US, DAY_1, "1 row, expected 10", 1),
    ]
    assert [r.rejected_at for r in stored] == [
        clock.now,
        clock.now,
        clock.now - timedelta(minutes=5),
    ]
    assert all(r.rejected_at.tzinfo is not None for r in stored)
    assert len(await storage.recent_rejections(limit=2)) == 2


# -- engine state --------------------------------------------------------------------------------


async def test_states_round_trip_and_are_replaced(storage: Storage) -> None:
    chart_state = {"streaks": {"wednesday": [3, "2024-03-01"]}, "top": ["a", "b"], "n": 1.5}
    family_state = {"number_ones": {"US": "wednesday"}, "empty": None}
    assert await storage.load_chart_state(NETFLIX_TV_US) is None
    assert await storage.load_family_state(TV_FAMILY) is None

    await save(
        storage,
        Batch(chart_states={NETFLIX_TV_US: chart_state}, family_states={TV_FAMILY: family_state}),
    )
    assert await storage.load_chart_state(NETFLIX_TV_US) == chart_state
    assert await storage.load_family_state(TV_FAMILY) == family_state
    assert await storage.load_chart_state(NETFLIX_TV_FR) is None

    await save(storage, Batch(chart_states={NETFLIX_TV_US: {"top": []}}))
    assert await storage.load_chart_state(NETFLIX_TV_US) == {"top": []}
    assert await storage.load_family_state(TV_FAMILY) == family_state


async def test_many_chart_states_are_read_at_once(storage: Storage) -> None:
    keys = [
        ChartKey("flixpatrol", service, region, "TV Shows", "daily")
        for service in ("netflix", "disney")
        for region in (a + b for a in "ABCDEF" for b in "ABCDEFGHIJ")
    ] * 2  # more keys than one SQLite statement takes, each asked for twice
    states = {key: {"region": key.region, "service": key.service} for key in keys[:100:3]}
    await save(storage, Batch(chart_states=states))

    assert await storage.load_chart_states(keys) == states
    assert await storage.load_chart_states([OFFICIAL_TV, keys[0]]) == {keys[0]: states[keys[0]]}
    assert await storage.load_chart_states([]) == {}


async def test_a_loaded_state_is_a_copy(storage: Storage) -> None:
    state: dict[str, Any] = {"top": ["a"]}
    await save(storage, Batch(chart_states={NETFLIX_TV_US: state}))
    state["top"].append("b")
    loaded = await storage.load_chart_state(NETFLIX_TV_US)
    assert loaded == {"top": ["a"]}


async def test_a_batch_that_cannot_be_stored_stores_nothing(storage: Storage) -> None:
    not_json = {"when": datetime(2024, 3, 1, tzinfo=UTC)}
    batch = Batch(
        accepted=[chart(NETFLIX_TV_US, DAY_1, "A")],
        chart_states={NETFLIX_TV_US: not_json},
        events=[event("A")],
    )
    with pytest.raises(TypeError):
        await save(storage, batch)

    assert await storage.chart_keys() == []
    assert await storage.recent_events() == []
    assert await storage.load_chart_state(NETFLIX_TV_US) is None


# -- events --------------------------------------------------------------------------------------


async def test_events_are_stored_once_and_only_new_ones_come_back(storage: Storage) -> None:
    first, second, third = event("A"), event("B"), event("C")

    assert await save(storage, Batch(events=[first, second])) == [first, second]
    assert await save(storage, Batch(events=[second])) == []
    assert await save(storage, Batch(events=[third, first, third])) == [third]
    assert [e.title for e in await storage.recent_events()] == ["C", "B", "A"]


async def test_many_events_in_one_batch(storage: Storage) -> None:
    events = [event(f"Title {index}") for index in range(2_000)]

    assert await save(storage, Batch(events=events)) == events
    assert await save(storage, Batch(events=[*events[::-1], event("Fresh")])) == [event("Fresh")]


async def test_every_event_field_round_trips(storage: Storage) -> None:
    record = Event(
        type=EventType.RECORD_BROKEN,
        chart=OFFICIAL_TV,
        period=date(2024, 8, 11),
        title_id="squid game|season 2",
        title="Squid Game",
        season="Season 2",
        rank=1,
        previous_rank=None,
        value=68_000_000,
        unit="views",
        record=Record.MOST_WEEKLY_VIEWS,
        previous=RecordHolder("Wednesday", "Season 1", 50_100_000, date(2022, 11, 27)),
    )
    milestone = Event(
        type=EventType.HOURS_MILESTONE,
        chart=OFFICIAL_TV,
        period=date(2024, 8, 11),
        title_id="squid game|season 2",
        title="Squid Game",
        season="Season 2",
        value=1_000_000_000,
        unit="hours",
        total_regions=93,
        qualifier="1e9",
    )
    assert await save(storage, Batch(events=[record, milestone])) == [record, milestone]
    assert await storage.recent_events() == [milestone, record]


async def test_recent_events_newest_first_with_limit_and_title(storage: Storage) -> None:
    await save(storage, Batch(events=[event("A", DAY_1), event("B", DAY_1)]))
    await save(storage, Batch(events=[event("A", DAY_2), event("C", DAY_2)]))

    assert [(e.title, e.period) for e in await storage.recent_events(limit=3)] == [
        ("C", DAY_2),
        ("A", DAY_2),
        ("B", DAY_1),
    ]
    assert [(e.title, e.period) for e in await storage.recent_events(title_id="a")] == [
        ("A", DAY_2),
        ("A", DAY_1),
    ]
    assert await storage.recent_events(title_id="a", limit=1) == [event("A", DAY_2)]
    assert await storage.recent_events(title_id="nobody") == []


# -- titles --------------------------------------------------------------------------------------


async def test_search_titles_ignores_case_accents_and_punctuation(storage: Storage) -> None:
    await save(
        storage,
        Batch(
            accepted=[
                Chart(
                    NETFLIX_TV_US,
                    DAY_1,
                    (
                        entry(1, "Élite", "Temporada 8"),
                        entry(2, "Money Heist: Part 5"),
                        entry(3, "The Stranger"),
                        entry(4, "Stranger Things", "Stranger Things 4"),
                        entry(5, "Elite Squad"),
                    ),
                )
            ]
        ),
    )

    assert await storage.search_titles("ELITE") == [
        TitleHit("élite|temporada 8", "Élite", "Temporada 8"),
        TitleHit("elite squad", "Elite Squad", None),
    ]
    assert [hit.title for hit in await storage.search_titles("money heist part")] == [
        "Money Heist: Part 5"
    ]
    # Titles that start with the text come first.
    assert [hit.title for hit in await storage.search_titles("stranger")] == [
        "Stranger Things",
        "The Stranger",
    ]
    assert [hit.title for hit in await storage.search_titles("stranger", limit=1)] == [
        "Stranger Things"
    ]
    assert await storage.search_titles("bridgerton") == []


async def test_all_titles_are_distinct_and_in_a_fixed_order(storage: Storage) -> None:
    await save(
        storage,
        Batch(
            accepted=[
                Chart(NETFLIX_TV_US, DAY_1, (entry(1, "Zelda"), entry(2, "avatar", "Season 1"))),
                Chart(NETFLIX_TV_FR, DAY_1, (entry(1, "Avatar"), entry(2, "Zelda"))),
                Chart(NETFLIX_TV_US, DAY_2, (entry(1, "Zelda"), entry(2, "Avatar", "Season 1"))),
            ]
        ),
    )

    assert await storage.all_titles() == [
        TitleHit("avatar", "Avatar", None),
        TitleHit("avatar|season 1", "Avatar", "Season 1"),
        TitleHit("avatar|season 1", "avatar", "Season 1"),
        TitleHit("zelda", "Zelda", None),
    ]


async def test_title_history_is_every_appearance_oldest_first(storage: Storage) -> None:
    await save(
        storage,
        Batch(
            accepted=[
                chart(NETFLIX_TV_US, DAY_3, "Other", "Wednesday"),
                chart(NETFLIX_TV_FR, DAY_1, "Other", "Other 2", "Wednesday"),
                chart(NETFLIX_TV_US, DAY_1, "Wednesday"),
                chart(NETFLIX_MOVIES_US, DAY_2, "Other"),
            ]
        ),
    )

    assert await storage.title_history("wednesday") == [
        RankPoint(NETFLIX_TV_FR, DAY_1, 3),
        RankPoint(NETFLIX_TV_US, DAY_1, 1),
        RankPoint(NETFLIX_TV_US, DAY_3, 2),
    ]
    assert await storage.title_history("nobody") == []
    # From a period on (what a picture's span reads).
    assert await storage.title_history("wednesday", since=DAY_2) == [
        RankPoint(NETFLIX_TV_US, DAY_3, 2)
    ]
    assert await storage.title_history("wednesday", since=DAY_1) == await storage.title_history(
        "wednesday"
    )


async def save_charts(store: Storage, *charts: Chart) -> None:
    """Store charts as one batch."""
    await save(store, Batch(accepted=list(charts)))


async def test_rank_tallies_count_each_rank_of_a_title_in_each_chart(storage: Storage) -> None:
    day_4, day_5 = DAY_3 + timedelta(days=1), DAY_3 + timedelta(days=2)
    us, fr, movies = NETFLIX_TV_US, NETFLIX_TV_FR, NETFLIX_MOVIES_US
    await save_charts(
        storage,
        chart(us, DAY_1, "Wednesday", "Other"),
        chart(us, DAY_2, "Wednesday", "Other"),
        chart(fr, DAY_1, "Other", "Wednesday"),
    )
    await save_charts(
        storage,
        chart(us, DAY_3, "Other", "Wednesday"),
        chart(us, day_5, "Wednesday"),  # after a gap
        chart(movies, DAY_2, "Other"),
    )
    await save_charts(storage, chart(us, day_4, "Other", "Wednesday"))

    assert await storage.rank_tallies(["wednesday", "nobody"]) == [
        RankTally("wednesday", fr, 2, 1, DAY_1, DAY_1),
        RankTally("wednesday", us, 1, 3, DAY_1, day_5),
        RankTally("wednesday", us, 2, 2, DAY_3, day_4),
    ]
    other = await storage.rank_tallies(["other"])
    assert [(t.key, t.rank, t.periods) for t in other] == [
        (fr, 1, 1),
        (movies, 1, 1),
        (us, 1, 2),
        (us, 2, 2),
    ]
    assert await storage.rank_tallies([]) == []
    # In one chart only (what /top10 asks of the titles new to a chart).
    assert await storage.rank_tallies(["wednesday", "other"], us) == [
        RankTally("other", us, 1, 2, DAY_3, day_4),
        RankTally("other", us, 2, 2, DAY_1, DAY_2),
        RankTally("wednesday", us, 1, 3, DAY_1, day_5),
        RankTally("wednesday", us, 2, 2, DAY_3, day_4),
    ]
    assert await storage.rank_tallies(["wednesday"], movies) == []


async def test_titles_version_changes_with_the_set_of_titles_only(storage: Storage) -> None:
    us = NETFLIX_TV_US
    start = await storage.titles_version()
    await save_charts(storage, chart(us, DAY_1, "Wednesday", "Other"))
    added = await storage.titles_version()
    assert added != start

    # Known titles mentioned again: the same titles, the same number.
    await save_charts(storage, chart(us, DAY_2, "Other", "Wednesday"))
    assert await storage.titles_version() == added

    # A corrected chart drops the last mention of "Other" and brings a newcomer.
    await save_charts(storage, chart(us, DAY_1, "Wednesday", "Newcomer"))
    await save_charts(storage, chart(us, DAY_2, "Wednesday", "Newcomer"))
    changed = await storage.titles_version()
    assert changed != added
    assert {hit.title for hit in await storage.all_titles()} == {"Wednesday", "Newcomer"}
    await save_charts(storage, chart(us, DAY_2, "Wednesday", "Newcomer"))
    assert await storage.titles_version() == changed


async def test_a_replaced_chart_is_tallied_again(storage: Storage) -> None:
    us, fr = NETFLIX_TV_US, NETFLIX_TV_FR
    await save_charts(
        storage, *(chart(us, day, "Wednesday", "Other") for day in (DAY_1, DAY_2, DAY_3))
    )
    # Corrections of the last and first day, with a new title in the same batch.
    await save_charts(
        storage,
        chart(us, DAY_3, "Other", "Newcomer"),
        chart(us, DAY_1, "Other", "Wednesday"),
        chart(fr, DAY_3, "Wednesday"),
    )

    assert await storage.rank_tallies(["wednesday", "other", "newcomer"]) == [
        RankTally("newcomer", us, 2, 1, DAY_3, DAY_3),
        RankTally("other", us, 1, 2, DAY_1, DAY_3),
        RankTally("other", us, 2, 1, DAY_2, DAY_2),
        RankTally("wednesday", fr, 1, 1, DAY_3, DAY_3),
        RankTally("wednesday", us, 1, 1, DAY_2, DAY_2),
        RankTally("wednesday", us, 2, 1, DAY_1, DAY_1),
    ]


# -- meta ----------------------------------------------------------------------------------------


async def test_meta_values_are_set_and_replaced(storage: Storage) -> None:
    assert await storage.get_meta("etag:https://example.test/a.tsv") is None
    await storage.set_meta("etag:https://example.test/a.tsv", 'W/"1"')
    await storage.set_meta("last_poll:netflix", "2024-03-01T08:00:00+00:00")
    await storage.set_meta("etag:https://example.test/a.tsv", 'W/"2"')

    assert await storage.get_meta("etag:https://example.test/a.tsv") == 'W/"2"'
    assert await storage.get_meta("last_poll:netflix") == "2024-03-01T08:00:00+00:00"


async def test_negative_limits_are_refused(storage: Storage) -> None:
    with pytest.raises(ValueError, match="limit"):
        await storage.recent_events(limit=-1)
    with pytest.raises(ValueError, match="limit"):
        await storage.search_titles("a", limit=-1)


def _every_kind_of_event() -> list[Event]:
    """Events of one chart and period that use every stored field."""
    return [
        Event(
            EventType.RECORD_BROKEN,
            OFFICIAL_TV,
            DAY_1,
            "squid game|season 2",
            "Squid Game",
            "Season 2",
            rank=1,
            value=68_000_000,
            unit="views",
            record=Record.MOST_WEEKLY_VIEWS,
            previous=RecordHolder("Wednesday", None, 50_100_000, date(2022, 11, 27)),
        ),
        Event(
            EventType.HOURS_MILESTONE,
            OFFICIAL_TV,
            DAY_1,
            "squid game|season 2",
            "Squid Game",
            "Season 2",
            value=1_000_000_000,
            unit="hours",
            qualifier="1e9",
        ),
        Event(
            EventType.COUNTRIES_AT_NUMBER_ONE,
            OFFICIAL_TV,
            DAY_1,
            "wednesday",
            "Wednesday",
            None,
            value=50,
            unit="regions",
            total_regions=93,
            qualifier="50",
        ),
        Event(EventType.ENTERED, OFFICIAL_TV, DAY_1, "kitz", "Kitz", None, rank=9),
        Event(EventType.LEFT, OFFICIAL_TV, DAY_1, "", "Untitled", "", previous_rank=10),
        Event(EventType.ALL_TIME_LIST, OFFICIAL_TV, DAY_1, "x", "X", ""),
    ]


# -- invariants the schema holds ------------------------------------------------------------------


async def test_sqlite_a_stored_event_key_is_refused_by_the_database(tmp_path: Path) -> None:
    store = await open_sqlite(tmp_path / "top10.db")
    try:
        await save(store, Batch(events=[event("A")]))
        key, *_ = codec.event_row(event("A"))
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            async with store.database.transaction() as tx:
                await tx.execute(
                    "INSERT INTO events (key, type, source, service, region, category,"
                    " granularity, period, title_id, data) VALUES (?, 'x', '', '', '', '', '', '',"
                    " '', '{}')",
                    (key,),
                )
        # The same event in a later batch (another process diffed it too) is not new, and is
        # stored once.
        assert await save(store, Batch(events=[event("A"), event("B")])) == [event("B")]
        rows = await store.database.read("SELECT count(*) FROM events WHERE key = ?", (key,))
        assert rows[0][0] == 1
    finally:
        await store.close()


async def test_sqlite_a_delivery_cannot_refer_to_a_missing_event(tmp_path: Path) -> None:
    store = await open_sqlite(tmp_path / "top10.db")
    try:
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            async with store.database.transaction() as tx:
                await tx.execute(
                    "INSERT INTO deliveries (event_id, destination_id, platform, due_at,"
                    " created_at, updated_at) VALUES (12345, 1, 'telegram', '', '', '')"
                )
    finally:
        await store.close()


async def test_sqlite_ids_come_from_the_database(tmp_path: Path) -> None:
    """Event and chart ids are the database's (INTEGER PRIMARY KEY), unique across batches and
    across connections to one file."""
    path = tmp_path / "top10.db"
    first, second = await open_sqlite(path), await open_sqlite(path)
    try:
        await save(first, Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "A")], events=[event("A")]))
        await save(second, Batch(accepted=[chart(NETFLIX_TV_FR, DAY_1, "B")], events=[event("B")]))
        await save(first, Batch(accepted=[chart(NETFLIX_TV_DE, DAY_1, "C")], events=[event("C")]))
        for table in ("events", "charts"):
            rows = await first.database.read(f"SELECT id FROM {table} ORDER BY id")
            ids = [row[0] for row in rows]
            assert len(ids) == 3 and len(set(ids)) == 3
        assert [e.title for e in await second.recent_events()] == ["C", "B", "A"]
    finally:
        await first.close()
        await second.close()


async def test_sqlite_a_failing_queue_stores_nothing_of_the_batch(tmp_path: Path) -> None:
    """Charts, states, events and their deliveries are one transaction: when queueing fails (here
    the database refuses every delivery row), none of the batch is stored."""
    store = await open_sqlite(tmp_path / "top10.db")
    try:
        await store.subscriptions.add_subscription(
            Destination("telegram", "1"), SubscriptionSpec(service="netflix")
        )
        await store.database.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON deliveries"
            " BEGIN SELECT RAISE(ABORT, 'outbox unavailable'); END"
        )
        batch = Batch(
            accepted=[chart(NETFLIX_TV_US, DAY_1, "A")],
            chart_states={NETFLIX_TV_US: {"top": ["a"]}},
            events=[event("A")],
        )
        with pytest.raises(sqlite3.IntegrityError, match="outbox unavailable"):
            await store.save_batch(batch, queue_deliveries=True)
        assert not await store.has_chart(NETFLIX_TV_US, DAY_1)
        assert await store.load_chart_state(NETFLIX_TV_US) is None
        assert await store.recent_events() == []
        assert await store.all_titles() == []

        # History queues nothing, so the same batch stores.
        assert await save(store, batch) == [event("A")]
        assert (await store.outbox.counts()).pending == 0
    finally:
        await store.close()


async def test_deliveries_are_queued_only_when_asked(storage: Backend) -> None:
    await storage.subscriptions.add_subscription(
        Destination("telegram", "1"), SubscriptionSpec(service="netflix")
    )
    history = await storage.save_batch(Batch(events=[event("A")]), queue_deliveries=False)
    live = await storage.save_batch(Batch(events=[event("B")]), queue_deliveries=True)
    again = await storage.save_batch(Batch(events=[event("B")]), queue_deliveries=True)

    assert (history.events, history.queued) == ([event("A")], 0)
    assert (live.events, live.queued) == ([event("B")], 1)
    assert (again.events, again.queued) == ([], 0)
    assert (await storage.outbox.counts()).pending == 1


# -- SQLite only ---------------------------------------------------------------------------------


async def open_sqlite(path: Path) -> SqliteBackend:
    store = await SqliteBackend.open(path)
    await store.migrate()
    return store


CHART_KEYS_MIGRATION = 10


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_the_migration_lists_the_keys_and_tallies_of_stored_charts(
    tmp_path: Path, kind: str
) -> None:
    """Charts stored before chart_keys and rank_tallies existed are in them once the migration
    has run."""
    store: Any
    if kind == "sqlite":
        store = await SqliteBackend.open(tmp_path / "old.db")
        marks = ", ".join("?" * 11)
    else:
        from storage.postgres import PostgresBackend
        from tests.integration.postgres_server import fresh_postgres_url

        store = await PostgresBackend.open(await fresh_postgres_url())
        marks = ", ".join(f"${n}" for n in range(1, 12))
    try:
        older = [
            m
            for m in load_migrations("sqlite" if kind == "sqlite" else "postgres")
            if m.version < CHART_KEYS_MIGRATION
        ]
        await store.apply_migrations(older)
        stored = [(NETFLIX_TV_US, DAY_1), (NETFLIX_TV_US, DAY_2), (OFFICIAL_TV, DAY_1)]
        for key, period in stored:
            values = (*codec.key_columns(key), period.isoformat(), 1, 10, None, "[]", "2024-03-01")
            sql = (
                "INSERT INTO charts (source, service, region, category, granularity, period,"
                f" rows, expected_size, extra, entries, stored_at) VALUES ({marks})"
            )
            if kind == "sqlite":
                await store.database.execute(sql, values)
            else:
                await store.database.execute(sql, *values)

        await store.database.execute(
            "INSERT INTO title_ranks (chart_id, position, title_id, rank)"
            " SELECT id, 0, 'wednesday', 1 FROM charts"
        )

        await store.migrate()

        assert await store.chart_keys() == [NETFLIX_TV_US, OFFICIAL_TV]
        assert await store.rank_tallies(["wednesday"]) == [
            RankTally("wednesday", NETFLIX_TV_US, 1, 2, DAY_1, DAY_2),
            RankTally("wednesday", OFFICIAL_TV, 1, 1, DAY_1, DAY_1),
        ]
        await save(store, Batch(accepted=[chart(NETFLIX_TV_FR, DAY_3, "A")]))
        assert await store.chart_keys() == [NETFLIX_TV_FR, NETFLIX_TV_US, OFFICIAL_TV]
    finally:
        await store.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("turns", [0, 1, 2, 3, 5, 8])
async def test_a_cancelled_save_stores_all_of_its_batch_or_none(
    tmp_path: Path, turns: int, kind: str
) -> None:
    store = await open_test_backend(kind, tmp_path)
    await store.subscriptions.add_subscription(
        Destination("telegram", "1"), SubscriptionSpec(service="flixpatrol")
    )
    batch = Batch(
        accepted=[chart(NETFLIX_TV_US, DAY_1, "A")],
        chart_states={NETFLIX_TV_US: {"top": ["a"]}},
        events=[event("A")],
    )
    try:
        saving = asyncio.create_task(store.save_batch(batch, queue_deliveries=True))
        for _ in range(turns):  # cancelled at a different statement of the unit of work
            await asyncio.sleep(0)
        saving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await saving

        stored = await store.has_chart(NETFLIX_TV_US, DAY_1)
        assert (await store.load_chart_state(NETFLIX_TV_US) is not None) is stored
        assert (await store.recent_events() == [event("A")]) is stored
        assert (await store.outbox.counts()).pending == (1 if stored else 0)
        # No transaction was left open: the next save goes through.
        assert await save(store, Batch(events=[event("B")])) == [event("B")]
    finally:
        await store.close()


async def test_sqlite_stores_json_columns_as_the_codec_encodes_them(tmp_path: Path) -> None:
    # What SQLite stores must be the codec's own text, escapes, non-ASCII and float digits
    # included.
    entries = (
        Entry(1, 'squid game|"red" light', 'Squid Game: "Red" \\ Light 🦑 é', "Season 1\u0001"),
        Entry(
            2, "x", "X", None, points=7, hours=1_000_000_000, views=12, runtime=1.8666666666666667
        ),
    )
    stored = Chart(NETFLIX_TV_US, DAY_1, entries)
    after = Chart(NETFLIX_TV_FR, DAY_1, (Entry(1, "lupin", "Lupin 🎩", "Partie 1"),))
    state = {"z": [1.25, 'Pokémon "2"'], "a": {"y": None, "b": 10**15}}
    events = _every_kind_of_event()
    events_after = [Event(EventType.ENTERED, NETFLIX_TV_FR, DAY_1, "lupin", "Lupin 🎩", None, 3)]
    store = await open_sqlite(tmp_path / "top10.db")
    try:
        batch = Batch(
            accepted=[stored, after],
            chart_states={NETFLIX_TV_US: state},
            events=[*events, *events_after],
        )
        batch.family_states[TV_FAMILY] = state
        await save(store, batch)
        db = store.database
        rows = await db.read("SELECT entries FROM charts ORDER BY id")
        assert [row[0] for row in rows] == [
            codec.encode_entries(entries),
            codec.encode_entries(after.entries),
        ]
        assert (await store.latest_chart(NETFLIX_TV_US)) == codec.stored_form(stored)
        assert (await store.latest_chart(NETFLIX_TV_FR)) == codec.stored_form(after)
        for table in ("chart_state", "family_state"):
            rows = await db.read(f"SELECT state FROM {table}")
            assert [row[0] for row in rows] == [codec.encode_state(state)]
        rows = await db.read("SELECT data FROM events ORDER BY id")
        assert [row[0] for row in rows] == [
            codec.event_row(stored_event)[-1] for stored_event in [*events, *events_after]
        ]
    finally:
        await store.close()


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = await open_sqlite(tmp_path / "top10.db")
    try:
        assert await store.journal_mode() == "wal"
    finally:
        await store.close()


async def test_sqlite_records_each_migration_once(tmp_path: Path) -> None:
    expected = [(migration.version, migration.name) for migration in load_migrations()]
    store = await open_sqlite(tmp_path / "top10.db")
    try:
        assert await store.applied_migrations() == expected
        assert expected[0] == (1, "initial")
    finally:
        await store.close()

    reopened = await open_sqlite(tmp_path / "top10.db")
    try:
        assert await reopened.applied_migrations() == expected
    finally:
        await reopened.close()


async def test_sqlite_applies_only_newer_migrations_each_in_its_own_transaction(
    tmp_path: Path,
) -> None:
    # Plain CREATE TABLE: running a migration twice would fail.
    first = Migration(1, "first", "CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n")
    second = Migration(2, "second", "CREATE TABLE b (y TEXT);\n")
    broken = Migration(3, "broken", "CREATE TABLE c (z TEXT);\nINSERT INTO missing VALUES (1);\n")
    store = await SqliteBackend.open(tmp_path / "custom.db")
    try:
        assert await store.apply_migrations([first]) == 1
        assert await store.apply_migrations([second, first]) == 2
        with pytest.raises(sqlite3.OperationalError, match="missing"):
            await store.apply_migrations([first, second, broken])

        assert await store.applied_migrations() == [(1, "first"), (2, "second")]
        tables = await store.database.read(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b', 'c')"
        )
        assert sorted(row[0] for row in tables) == ["a", "b"]
        assert list(await store.database.read("SELECT x FROM a")) == [(1,)]
    finally:
        await store.close()


async def test_sqlite_refuses_a_migration_that_breaks_foreign_keys(tmp_path: Path) -> None:
    parent = Migration(1, "parent", "CREATE TABLE p (id INTEGER PRIMARY KEY);\n")
    child = Migration(
        2,
        "child",
        "CREATE TABLE c (p_id INTEGER REFERENCES p (id));\nINSERT INTO p VALUES (1);\n"
        "INSERT INTO c VALUES (1);\n",
    )
    dropping = Migration(3, "dropping", "-- migrate: foreign_keys off\nDELETE FROM p;\n")
    store = await SqliteBackend.open(tmp_path / "fk.db")
    try:
        assert await store.apply_migrations([parent, child]) == 2
        with pytest.raises(sqlite3.IntegrityError, match="1 rows break a foreign key"):
            await store.apply_migrations([dropping])
        assert await store.applied_migrations() == [(1, "parent"), (2, "child")]
        assert list(await store.database.read("SELECT id FROM p")) == [(1,)]
        assert list(await store.database.read("PRAGMA foreign_keys")) == [(1,)]
    finally:
        await store.close()


def test_migration_scripts_split_into_whole_statements() -> None:
    script = """-- a comment; with a semicolon
CREATE TABLE t (note TEXT DEFAULT 'a; b');
CREATE TRIGGER t_touch AFTER INSERT ON t BEGIN
    UPDATE t SET note = 'x;' WHERE rowid = new.rowid;
END;
-- trailing comment
"""
    assert split_statements(script) == [
        "-- a comment; with a semicolon\nCREATE TABLE t (note TEXT DEFAULT 'a; b');",
        "CREATE TRIGGER t_touch AFTER INSERT ON t BEGIN\n"
        "    UPDATE t SET note = 'x;' WHERE rowid = new.rowid;\nEND;",
    ]
    with pytest.raises(ValueError, match="unterminated"):
        split_statements("CREATE TABLE t (x INTEGER)")


async def test_sqlite_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "top10.db"
    stored = chart(NETFLIX_TV_US, DAY_1, "Élite", "Wednesday")
    first = event("Élite")
    store = await open_sqlite(path)
    try:
        await save(
            store,
            Batch(
                accepted=[stored],
                chart_states={NETFLIX_TV_US: {"top": ["élite"]}},
                events=[first],
            ),
        )
        await store.set_meta("cursor", "42")
    finally:
        await store.close()

    reopened = await open_sqlite(path)
    try:
        assert await reopened.latest_chart(NETFLIX_TV_US) == stored
        assert await reopened.load_chart_state(NETFLIX_TV_US) == {"top": ["élite"]}
        assert await reopened.get_meta("cursor") == "42"
        assert await reopened.search_titles("elite") == [TitleHit("élite", "Élite", None)]
        assert await reopened.title_history("wednesday") == [RankPoint(NETFLIX_TV_US, DAY_1, 2)]
        # The event key is remembered across restarts: a replay never announces it twice.
        assert await save(reopened, Batch(events=[first, event("New")])) == [event("New")]
        # New charts get fresh ids after a restart.
        later = chart(NETFLIX_TV_US, DAY_2, "Wednesday")
        await save(reopened, Batch(accepted=[later]))
        assert await reopened.title_history("wednesday") == [
            RankPoint(NETFLIX_TV_US, DAY_1, 2),
            RankPoint(NETFLIX_TV_US, DAY_2, 1),
        ]
    finally:
        await reopened.close()


async def test_sqlite_concurrent_batches_take_turns(tmp_path: Path) -> None:
    store = await open_sqlite(tmp_path / "top10.db")
    try:
        batches = [
            Batch(
                accepted=[chart(replace(NETFLIX_TV_US, region=f"R{index}"), DAY_1, f"T{index}")],
                events=[event(f"T{index}")],
            )
            for index in range(20)
        ]
        results = await asyncio.gather(*(save(store, batch) for batch in batches))
        assert [len(new) for new in results] == [1] * 20
        assert len(await store.chart_keys()) == 20
        assert len(await store.family_charts(TV_FAMILY, DAY_1)) == 20
    finally:
        await store.close()


# -- opening by URL ------------------------------------------------------------------------------


async def test_open_backend_memory_url() -> None:
    store = await open_backend("memory://")
    try:
        assert isinstance(store, MemoryBackend)
    finally:
        await store.close()


async def test_open_backend_sqlite_relative_and_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = await open_backend("sqlite:///data/relative.db")
    try:
        assert isinstance(relative, SqliteBackend)
        await relative.set_meta("where", "relative")
    finally:
        await relative.close()
    assert (tmp_path / "data" / "relative.db").is_file()

    absolute_path = tmp_path / "absolute.db"
    absolute = await open_backend(f"sqlite:///{absolute_path}")  # four slashes in all
    try:
        newest = max(migration.version for migration in load_migrations())
        assert isinstance(absolute, SqliteBackend)
        assert await absolute.applied_migrations() != []
        assert await absolute.migrate() == newest
    finally:
        await absolute.close()
    assert absolute_path.is_file()


async def test_open_backend_sqlite_in_memory() -> None:
    store = await open_backend("sqlite://:memory:")
    try:
        await save(store, Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "A")]))
        assert await store.has_chart(NETFLIX_TV_US, DAY_1)
    finally:
        await store.close()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://db/top10",
        "top10.db",
        "sqlite://relative.db",
        "sqlite://",
        "sqlite:///",
        "memory://somewhere",
    ],
)
async def test_open_backend_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"sqlite:///relative/path\.db"):
        await open_backend(url)
