"""One contract for every Storage implementation (memory and SQLite), plus SQLite-only facts.

PostgreSQL joins the parametrisation with the scale-out work; until then TOP10BOT_TEST_POSTGRES
changes nothing here.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.events import Event, EventType, Record, RecordHolder
from bot.models import WORLD, Chart, ChartKey, Entry, Rejection
from bot.ports import Batch, RankPoint, Storage, TitleHit
from storage import MemoryStorage, SqliteStorage, StorageUrlError, codec, open_storage
from storage import sqlite as sqlite_module
from storage.schema import Migration, load_migrations, split_statements

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


@pytest.fixture(params=["memory", "sqlite"])
async def storage_and_clock(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Storage, FakeClock]]:
    clock = FakeClock()
    store: Storage
    if request.param == "memory":
        store = MemoryStorage(clock=clock)
    else:
        store = await SqliteStorage.open(tmp_path / "top10.db", clock=clock)
    await store.migrate()
    yield store, clock
    await store.close()


@pytest.fixture
def storage(storage_and_clock: tuple[Storage, FakeClock]) -> Storage:
    return storage_and_clock[0]


@pytest.fixture
def clock(storage_and_clock: tuple[Storage, FakeClock]) -> FakeClock:
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

    assert await storage.save_batch(Batch(accepted=[stored])) == []

    loaded = await storage.latest_chart(OFFICIAL_TV)
    assert loaded == stored
    assert loaded is not None
    assert loaded.entries == entries
    assert loaded.extra == {"etag": "x1"}
    assert loaded.expected_size == 3
    assert loaded.parse_error is None


async def test_extra_is_a_copy_not_shared_with_the_caller(storage: Storage) -> None:
    original = chart(NETFLIX_TV_US, DAY_1, "A", source_url="https://example.test/a")
    await storage.save_batch(Batch(accepted=[original]))
    original.extra["source_url"] = "changed"

    loaded = await storage.latest_chart(NETFLIX_TV_US)
    assert loaded is not None
    assert loaded.extra == {"source_url": "https://example.test/a"}


async def test_storing_a_chart_again_replaces_the_same_key_and_period(storage: Storage) -> None:
    first = chart(NETFLIX_TV_US, DAY_1, "Typo Titel", "Beta")
    corrected = chart(NETFLIX_TV_US, DAY_1, "Typo Title", "Beta", "Gamma")
    await storage.save_batch(Batch(accepted=[first, chart(NETFLIX_TV_FR, DAY_1, "Beta")]))
    await storage.save_batch(Batch(accepted=[corrected]))

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
    await storage.save_batch(
        Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "Kept"), chart(NETFLIX_TV_US, DAY_2, "Kept")])
    )
    await storage.save_batch(Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "Other")]))

    assert await storage.search_titles("kept") == [TitleHit("kept", "Kept", None)]
    assert await storage.title_history("kept") == [RankPoint(NETFLIX_TV_US, DAY_2, 1)]


async def test_the_last_chart_of_a_key_and_period_in_one_batch_wins(storage: Storage) -> None:
    early = chart(NETFLIX_TV_US, DAY_1, "Early")
    late = chart(NETFLIX_TV_US, DAY_1, "Late")
    await storage.save_batch(Batch(accepted=[early, late]))

    assert await storage.latest_chart(NETFLIX_TV_US) == late
    assert await storage.all_titles() == [TitleHit("late", "Late", None)]


async def test_replacing_many_charts_at_once(storage: Storage) -> None:
    regions = [f"R{index:03d}" for index in range(400)]
    keys = [replace(NETFLIX_TV_US, region=region) for region in regions]
    await storage.save_batch(Batch(accepted=[chart(key, DAY_1, "Old") for key in keys]))
    await storage.save_batch(Batch(accepted=[chart(key, DAY_1, "New") for key in keys]))

    stored = await storage.family_charts(TV_FAMILY, DAY_1)
    assert [c.key.region for c in stored] == regions
    assert {c.entries[0].title for c in stored} == {"New"}
    assert await storage.all_titles() == [TitleHit("new", "New", None)]
    assert len(await storage.title_history("new")) == 400


async def test_latest_chart_optionally_at_or_before_a_date(storage: Storage) -> None:
    charts = [chart(NETFLIX_TV_US, day, f"Top of {day}") for day in (DAY_1, DAY_2, DAY_3)]
    # Stored out of order: "latest" is about the period, not the order of arrival.
    await storage.save_batch(Batch(accepted=[charts[2], charts[0]]))
    await storage.save_batch(Batch(accepted=[charts[1], chart(NETFLIX_TV_FR, DAY_3, "X")]))

    assert await storage.latest_chart(NETFLIX_TV_US) == charts[2]
    assert await storage.latest_chart(NETFLIX_TV_US, on_or_before=DAY_2) == charts[1]
    assert await storage.latest_chart(NETFLIX_TV_US, on_or_before=DAY_3 + timedelta(9)) == charts[2]
    assert await storage.latest_chart(NETFLIX_TV_US, on_or_before=DAY_1 - timedelta(1)) is None
    assert await storage.latest_chart(NETFLIX_MOVIES_US) is None


async def test_has_chart(storage: Storage) -> None:
    await storage.save_batch(Batch(accepted=[chart(NETFLIX_TV_US, DAY_2, "A")]))

    assert await storage.has_chart(NETFLIX_TV_US, DAY_2)
    assert not await storage.has_chart(NETFLIX_TV_US, DAY_1)
    assert not await storage.has_chart(NETFLIX_TV_FR, DAY_2)


async def test_chart_keys_are_sorted_and_filter_by_source(storage: Storage) -> None:
    await storage.save_batch(
        Batch(
            accepted=[
                chart(OFFICIAL_TV, DAY_3, "A"),
                chart(NETFLIX_TV_US, DAY_1, "A"),
                chart(NETFLIX_TV_US, DAY_2, "A"),
                chart(DISNEY_TV_US, DAY_1, "A"),
                chart(NETFLIX_TV_FR, DAY_1, "A"),
            ]
        )
    )

    assert await storage.chart_keys() == [DISNEY_TV_US, NETFLIX_TV_FR, NETFLIX_TV_US, OFFICIAL_TV]
    assert await storage.chart_keys(source="netflix") == [OFFICIAL_TV]
    assert await storage.chart_keys(source="the-numbers") == []


async def test_a_rejected_chart_is_not_a_chart(storage: Storage) -> None:
    refused = Rejection(chart(NETFLIX_TV_US, DAY_1, "Only one row"), "1 row, expected 10")
    await storage.save_batch(Batch(rejected=[refused]))

    assert await storage.chart_keys() == []
    assert not await storage.has_chart(NETFLIX_TV_US, DAY_1)
    assert await storage.all_titles() == []


async def test_family_charts_are_every_region_of_one_period_sorted(storage: Storage) -> None:
    await storage.save_batch(
        Batch(
            accepted=[
                chart(NETFLIX_TV_US, DAY_1, "A"),
                chart(NETFLIX_TV_FR, DAY_1, "B"),
                chart(NETFLIX_TV_DE, DAY_1, "C"),
                chart(NETFLIX_TV_DE, DAY_2, "D"),  # another period
                chart(NETFLIX_MOVIES_US, DAY_1, "E"),  # another category
                chart(DISNEY_TV_US, DAY_1, "F"),  # another service
            ]
        )
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
    await storage.save_batch(
        Batch(
            accepted=[
                chart(NETFLIX_TV_US, DAY_1, "A"),
                chart(NETFLIX_TV_FR, DAY_2, "A"),
                chart(NETFLIX_MOVIES_US, DAY_3, "A"),
            ]
        )
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
    await storage.save_batch(Batch(rejected=[first]))
    clock.now += timedelta(minutes=5)
    await storage.save_batch(Batch(rejected=[second, third]))

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

    await storage.save_batch(
        Batch(chart_states={NETFLIX_TV_US: chart_state}, family_states={TV_FAMILY: family_state})
    )
    assert await storage.load_chart_state(NETFLIX_TV_US) == chart_state
    assert await storage.load_family_state(TV_FAMILY) == family_state
    assert await storage.load_chart_state(NETFLIX_TV_FR) is None

    await storage.save_batch(Batch(chart_states={NETFLIX_TV_US: {"top": []}}))
    assert await storage.load_chart_state(NETFLIX_TV_US) == {"top": []}
    assert await storage.load_family_state(TV_FAMILY) == family_state


async def test_a_loaded_state_is_a_copy(storage: Storage) -> None:
    state: dict[str, Any] = {"top": ["a"]}
    await storage.save_batch(Batch(chart_states={NETFLIX_TV_US: state}))
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
        await storage.save_batch(batch)

    assert await storage.chart_keys() == []
    assert await storage.recent_events() == []
    assert await storage.load_chart_state(NETFLIX_TV_US) is None


# -- events --------------------------------------------------------------------------------------


async def test_events_are_stored_once_and_only_new_ones_come_back(storage: Storage) -> None:
    first, second, third = event("A"), event("B"), event("C")

    assert await storage.save_batch(Batch(events=[first, second])) == [first, second]
    assert await storage.save_batch(Batch(events=[second])) == []
    assert await storage.save_batch(Batch(events=[third, first, third])) == [third]
    assert [e.title for e in await storage.recent_events()] == ["C", "B", "A"]


async def test_many_events_in_one_batch(storage: Storage) -> None:
    events = [event(f"Title {index}") for index in range(2_000)]

    assert await storage.save_batch(Batch(events=events)) == events
    assert await storage.save_batch(Batch(events=[*events[::-1], event("Fresh")])) == [
        event("Fresh")
    ]


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
    assert await storage.save_batch(Batch(events=[record, milestone])) == [record, milestone]
    assert await storage.recent_events() == [milestone, record]


async def test_recent_events_newest_first_with_limit_and_title(storage: Storage) -> None:
    await storage.save_batch(Batch(events=[event("A", DAY_1), event("B", DAY_1)]))
    await storage.save_batch(Batch(events=[event("A", DAY_2), event("C", DAY_2)]))

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


async def test_the_new_events_hook_runs_with_new_events_only(storage: Storage) -> None:
    assert isinstance(storage, MemoryStorage | SqliteStorage)
    seen: list[list[tuple[str, int]]] = []

    async def remember(events: list[Event], event_ids: list[int]) -> int:
        seen.append([(e.title, event_id) for e, event_id in zip(events, event_ids, strict=True)])
        return len(events)

    storage.on_new_events(remember)
    await storage.save_batch(Batch(events=[event("A"), event("B")]))
    await storage.save_batch(Batch(events=[event("B"), event("C")]))
    await storage.save_batch(Batch(events=[event("C")]))
    await storage.save_batch(Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "A")]))

    assert [[title for title, _ in run] for run in seen] == [["A", "B"], ["C"]]
    # Event numbers (the outbox refers to them) increase in storage order, never reused.
    numbers = [number for run in seen for _, number in run]
    assert numbers == sorted(set(numbers)) and numbers[0] >= 1


async def test_a_failing_hook_stores_nothing_of_the_batch(storage: Storage) -> None:
    assert isinstance(storage, MemoryStorage | SqliteStorage)

    async def refuse(events: list[Event], event_ids: list[int]) -> None:
        raise RuntimeError("outbox unavailable")

    storage.on_new_events(refuse)
    batch = Batch(
        accepted=[chart(NETFLIX_TV_US, DAY_1, "A")],
        chart_states={NETFLIX_TV_US: {"top": ["a"]}},
        events=[event("A")],
    )
    with pytest.raises(RuntimeError, match="outbox unavailable"):
        await storage.save_batch(batch)

    assert not await storage.has_chart(NETFLIX_TV_US, DAY_1)
    assert await storage.load_chart_state(NETFLIX_TV_US) is None
    assert await storage.recent_events() == []
    assert await storage.all_titles() == []


# -- titles --------------------------------------------------------------------------------------


async def test_search_titles_ignores_case_accents_and_punctuation(storage: Storage) -> None:
    await storage.save_batch(
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
        )
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
    await storage.save_batch(
        Batch(
            accepted=[
                Chart(NETFLIX_TV_US, DAY_1, (entry(1, "Zelda"), entry(2, "avatar", "Season 1"))),
                Chart(NETFLIX_TV_FR, DAY_1, (entry(1, "Avatar"), entry(2, "Zelda"))),
                Chart(NETFLIX_TV_US, DAY_2, (entry(1, "Zelda"), entry(2, "Avatar", "Season 1"))),
            ]
        )
    )

    assert await storage.all_titles() == [
        TitleHit("avatar", "Avatar", None),
        TitleHit("avatar|season 1", "Avatar", "Season 1"),
        TitleHit("avatar|season 1", "avatar", "Season 1"),
        TitleHit("zelda", "Zelda", None),
    ]


async def test_title_history_is_every_appearance_oldest_first(storage: Storage) -> None:
    await storage.save_batch(
        Batch(
            accepted=[
                chart(NETFLIX_TV_US, DAY_3, "Other", "Wednesday"),
                chart(NETFLIX_TV_FR, DAY_1, "Other", "Other 2", "Wednesday"),
                chart(NETFLIX_TV_US, DAY_1, "Wednesday"),
                chart(NETFLIX_MOVIES_US, DAY_2, "Other"),
            ]
        )
    )

    assert await storage.title_history("wednesday") == [
        RankPoint(NETFLIX_TV_FR, DAY_1, 3),
        RankPoint(NETFLIX_TV_US, DAY_1, 1),
        RankPoint(NETFLIX_TV_US, DAY_3, 2),
    ]
    assert await storage.title_history("nobody") == []


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


# -- SQLite only ---------------------------------------------------------------------------------


async def open_sqlite(path: Path) -> SqliteStorage:
    store = await SqliteStorage.open(path)
    await store.migrate()
    return store


@pytest.mark.parametrize("with_hook", [False, True])
async def test_sqlite_a_cancelled_save_stores_all_of_its_batch_or_none(
    tmp_path: Path, with_hook: bool
) -> None:
    store = await open_sqlite(tmp_path / "top10.db")
    hook_started = asyncio.Event()

    async def never_done(events: list[Event], event_ids: list[int]) -> None:
        hook_started.set()
        await asyncio.Event().wait()

    async def accept(events: list[Event], event_ids: list[int]) -> None:
        return None

    if with_hook:
        store.on_new_events(never_done)
    batch = Batch(
        accepted=[chart(NETFLIX_TV_US, DAY_1, "A")],
        chart_states={NETFLIX_TV_US: {"top": ["a"]}},
        events=[event("A")],
    )
    try:
        saving = asyncio.create_task(store.save_batch(batch))
        if with_hook:
            await hook_started.wait()  # cancelled inside the transaction, in the hook
        else:
            await asyncio.sleep(0)  # cancelled while the connection's thread writes the batch
        saving.cancel()
        with pytest.raises(asyncio.CancelledError):
            await saving

        stored = await store.has_chart(NETFLIX_TV_US, DAY_1)
        assert stored is not with_hook  # without a hook the job commits; with one, rolled back
        assert (await store.load_chart_state(NETFLIX_TV_US) is not None) is stored
        assert (await store.recent_events() == [event("A")]) is stored
        # No transaction was left open: the next save goes through.
        store.on_new_events(accept)
        assert await store.save_batch(Batch(events=[event("B")])) == [event("B")]
    finally:
        await store.close()


async def test_sqlite_stores_json_columns_as_the_codec_encodes_them(tmp_path: Path) -> None:
    # States reach SQLite inside one JSON text per batch; entries and events beside it, as one
    # UTF-8 blob per batch sliced by byte offset. What SQLite stores must be the codec's own text,
    # escapes, non-ASCII and float digits included, also for a text that follows a non-ASCII one
    # in the blob (a character offset would cut it in the wrong place).
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
        await store.save_batch(batch)
        db = store.connection
        rows = await db.execute_fetchall("SELECT entries FROM charts ORDER BY id")
        assert [row[0] for row in rows] == [
            codec.encode_entries(entries),
            codec.encode_entries(after.entries),
        ]
        assert (await store.latest_chart(NETFLIX_TV_US)) == codec.stored_form(stored)
        assert (await store.latest_chart(NETFLIX_TV_FR)) == codec.stored_form(after)
        for table in ("chart_state", "family_state"):
            rows = await db.execute_fetchall(f"SELECT state FROM {table}")
            assert [row[0] for row in rows] == [codec.encode_state(state)]
        rows = await db.execute_fetchall("SELECT events FROM event_groups ORDER BY first_id")
        assert [row[0] for row in rows] == [
            codec.encode_events(events),
            codec.encode_events(events_after),
        ]
    finally:
        await store.close()


async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = await open_sqlite(tmp_path / "top10.db")
    try:
        assert await store.journal_mode() == "wal"
    finally:
        await store.close()


async def test_a_new_sqlite_database_has_large_pages_and_an_old_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    new = await open_sqlite(tmp_path / "new.db")
    try:
        await new.save_batch(Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "Alpha", "Beta")]))
        rows = await new.connection.execute_fetchall("PRAGMA page_size")
        assert [row[0] for row in rows] == [sqlite_module.PAGE_SIZE]
    finally:
        await new.close()

    # A database made with SQLite's default pages (as before) opens, reads and stores as ever.
    old_path = tmp_path / "old.db"
    with sqlite3.connect(old_path) as old_db:
        old_db.execute("PRAGMA page_size = 4096")
        old_db.execute("PRAGMA journal_mode = WAL")
        old_db.execute("CREATE TABLE made_before (x)")
    old = await open_sqlite(old_path)
    try:
        day_1 = chart(NETFLIX_TV_US, DAY_1, "Alpha", "Beta")
        await old.save_batch(Batch(accepted=[day_1]))
        rows = await old.connection.execute_fetchall("PRAGMA page_size")
        assert [row[0] for row in rows] == [4096]
        assert await old.latest_chart(NETFLIX_TV_US) == day_1
    finally:
        await old.close()


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
    store = await SqliteStorage.open(tmp_path / "custom.db")
    try:
        assert await store.apply_migrations([first]) == 1
        assert await store.apply_migrations([second, first]) == 2
        with pytest.raises(sqlite3.OperationalError, match="missing"):
            await store.apply_migrations([first, second, broken])

        assert await store.applied_migrations() == [(1, "first"), (2, "second")]
        tables = await store.connection.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b', 'c')"
        )
        assert sorted(row[0] for row in tables) == ["a", "b"]
        assert list(await store.connection.execute_fetchall("SELECT x FROM a")) == [(1,)]
    finally:
        await store.close()


async def test_sqlite_upgrade_to_event_groups_keeps_events_and_their_deliveries(
    tmp_path: Path,
) -> None:
    before, after = load_migrations()[:3], load_migrations()
    assert after[3].name == "event_groups" and after[3].foreign_keys_off
    store = await SqliteStorage.open(tmp_path / "old.db")
    try:
        await store.apply_migrations(before)
        db = store.connection
        old = [event("A", DAY_1), event("B", DAY_2), event("C", DAY_2, kind=EventType.ENTERED)]
        for event_id, stored in zip((3, 7, 9), old, strict=True):
            await db.execute(
                "INSERT INTO events (id, key, type, source, service, region, category,"
                " granularity, period, title_id, json, created_at) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-01-01')",
                (
                    event_id,
                    stored.key,
                    stored.type.value,
                    *codec.key_columns(stored.chart),
                    stored.period.isoformat(),
                    stored.title_id,
                    stored.to_json_text(),
                ),
            )
        await db.execute(
            "INSERT INTO deliveries (event_id, destination_id, platform, due_at, created_at,"
            " updated_at) VALUES (7, 1, 'telegram', '', '', '')"
        )

        assert await store.apply_migrations(after) == after[-1].version

        assert await store.recent_events() == old[::-1]
        assert list(await db.execute_fetchall("PRAGMA foreign_key_check")) == []
        assert list(await db.execute_fetchall("PRAGMA foreign_keys")) == [(1,)]
        # The delivery still finds its event by number.
        joined = await db.execute_fetchall(
            "SELECT json_extract(g.events, '$[' || (d.event_id - g.first_id) || '][2]')"
            " FROM deliveries AS d JOIN event_groups AS g ON g.first_id ="
            " (SELECT max(first_id) FROM event_groups WHERE first_id <= d.event_id)"
        )
        assert list(joined) == [("B",)]
        # The old events' keys are still known: saving them again stores only the new one.
        fresh = event("D", DAY_2)
        assert await store.save_batch(Batch(events=[old[1], fresh, old[2]])) == [fresh]
        assert await store.recent_events(limit=1) == [fresh]
    finally:
        await store.close()


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


def test_stored_events_keep_only_their_own_fields() -> None:
    events = _every_kind_of_event()
    encoded = codec.encode_events(events)
    assert codec.decode_events(OFFICIAL_TV, DAY_1, encoded) == events
    # The chart, period and key are not repeated per event.
    assert "netflix" not in encoded and "2024-03-01" not in encoded
    assert '["entered","kitz","Kitz",null,9,null,null,null,null,null,null,""]' in encoded
    assert len(encoded) * 2 < sum(len(event.to_json_text()) for event in events)
    # Rows as earlier versions wrote them (trailing nulls left out, an empty qualifier null)
    # read back the same.
    assert codec.decode_events(
        OFFICIAL_TV,
        DAY_1,
        '[["entered","kitz","Kitz",null,9],["all_time_list","x","X","",null,null,null,null,'
        "null,null,null,null]]",
    ) == [events[3], events[5]]
    only_kitz = codec.decode_events(OFFICIAL_TV, DAY_1, encoded, title_id="kitz")
    assert only_kitz == [events[3]]


def test_stored_rows_hold_the_documented_fields_in_order() -> None:
    """The codec builds rows field by field (faster compiled): they must follow the formats."""
    entry = Entry(1, "id", "Title", "Season 1", 2, 3, 4, 5, 6, 7.5)
    assert json.loads(codec.encode_entries([entry])) == [
        [getattr(entry, name) for name in codec.ENTRY_FORMAT]
    ]
    for event in _every_kind_of_event():
        expected: list[Any] = []
        for name in codec.EVENT_FORMAT:
            value = getattr(event, name)
            if isinstance(value, RecordHolder):
                value = [value.title, value.season, value.value, value.period.isoformat()]
            expected.append(value)
        assert json.loads(codec.encode_events([event])) == [expected]


async def test_sqlite_upgrade_to_compact_events_keeps_every_field(tmp_path: Path) -> None:
    before, after = load_migrations()[:4], load_migrations()
    assert after[4].name == "compact_events"
    events = _every_kind_of_event()
    store = await SqliteStorage.open(tmp_path / "old.db")
    try:
        await store.apply_migrations(before)
        db = store.connection
        # A group as version 4 stored it: an array of the events' jsonl objects.
        await db.execute(
            "INSERT INTO event_groups (first_id, count, source, service, region, category,"
            " granularity, period, part, events) VALUES (1, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
            (
                len(events),
                *codec.key_columns(OFFICIAL_TV),
                DAY_1.isoformat(),
                "[" + ",".join(event.to_json_text() for event in events) + "]",
            ),
        )

        assert await store.apply_migrations(after) == after[-1].version

        assert await store.recent_events() == events[::-1]
        # Their keys are still known: nothing is stored twice.
        assert await store.save_batch(Batch(events=events)) == []
    finally:
        await store.close()


async def test_sqlite_stores_a_chart_s_later_events_as_a_further_part(tmp_path: Path) -> None:
    store = await open_sqlite(tmp_path / "top10.db")
    numbers: list[list[tuple[str, int]]] = []

    async def remember(events: list[Event], event_ids: list[int]) -> None:
        numbers.append([(e.title, n) for e, n in zip(events, event_ids, strict=True)])

    store.on_new_events(remember)
    try:
        a, b, c, d = (event(title) for title in "ABCD")
        other = event("E", key=replace(NETFLIX_TV_US, region="KR"))
        assert await store.save_batch(Batch(events=[a, b])) == [a, b]
        # Same chart and period again (another process, late regions): only unknown keys stay,
        # in batch order, and a run of the same chart later in the batch is checked too.
        assert await store.save_batch(Batch(events=[b, c, other, a, d])) == [c, other, d]
        # Numbers follow storage order: the batch's new group (E) before the further part (C, D).
        assert numbers == [[("A", 1), ("B", 2)], [("C", 8), ("E", 5), ("D", 9)]]
        assert await store.recent_events() == [d, c, other, b, a]
        assert await store.recent_events(title_id="c") == [c]
        assert await store.save_batch(Batch(events=[a, b, c, d, other])) == []
    finally:
        await store.close()


async def test_sqlite_stores_one_group_for_a_chart_s_events_made_apart(tmp_path: Path) -> None:
    store = await open_sqlite(tmp_path / "top10.db")
    try:
        # Made apart (another chart's event between them), but side by side in a batch they are
        # one run of one chart and period: one group.
        a = event("A")
        other = event("E", key=replace(NETFLIX_TV_US, region="KR"))
        b = event("B", key=replace(NETFLIX_TV_US), period=date.fromisoformat(DAY_1.isoformat()))

        assert await store.save_batch(Batch(events=[a, b, other])) == [a, b, other]

        groups = await store.connection.execute_fetchall(
            "SELECT first_id, count, region, part FROM event_groups"
        )
        assert sorted(tuple(row) for row in groups) == [(1, 2, "US", 0), (3, 1, "KR", 0)]
        assert await store.recent_events() == [other, b, a]
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
    store = await SqliteStorage.open(tmp_path / "fk.db")
    try:
        assert await store.apply_migrations([parent, child]) == 2
        with pytest.raises(sqlite3.IntegrityError, match="breaks 1 foreign keys"):
            await store.apply_migrations([dropping])
        assert await store.applied_migrations() == [(1, "parent"), (2, "child")]
        assert list(await store.connection.execute_fetchall("SELECT id FROM p")) == [(1,)]
        assert list(await store.connection.execute_fetchall("PRAGMA foreign_keys")) == [(1,)]
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
        await store.save_batch(
            Batch(
                accepted=[stored],
                chart_states={NETFLIX_TV_US: {"top": ["élite"]}},
                events=[first],
            )
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
        assert await reopened.save_batch(Batch(events=[first, event("New")])) == [event("New")]
        # New charts get fresh ids after a restart.
        later = chart(NETFLIX_TV_US, DAY_2, "Wednesday")
        await reopened.save_batch(Batch(accepted=[later]))
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
        results = await asyncio.gather(*(store.save_batch(batch) for batch in batches))
        assert [len(new) for new in results] == [1] * 20
        assert len(await store.chart_keys()) == 20
        assert len(await store.family_charts(TV_FAMILY, DAY_1)) == 20
    finally:
        await store.close()


# -- opening by URL ------------------------------------------------------------------------------


async def test_open_storage_memory_url() -> None:
    store = await open_storage("memory://")
    try:
        assert isinstance(store, MemoryStorage)
    finally:
        await store.close()


async def test_open_storage_sqlite_relative_and_absolute_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = await open_storage("sqlite:///data/relative.db")
    try:
        assert isinstance(relative, SqliteStorage)
        await relative.set_meta("where", "relative")
    finally:
        await relative.close()
    assert (tmp_path / "data" / "relative.db").is_file()

    absolute_path = tmp_path / "absolute.db"
    absolute = await open_storage(f"sqlite:///{absolute_path}")  # four slashes in all
    try:
        newest = max(migration.version for migration in load_migrations())
        assert isinstance(absolute, SqliteStorage)
        assert await absolute.applied_migrations() != []
        assert await absolute.migrate() == newest
    finally:
        await absolute.close()
    assert absolute_path.is_file()


async def test_open_storage_sqlite_in_memory() -> None:
    store = await open_storage("sqlite://:memory:")
    try:
        await store.save_batch(Batch(accepted=[chart(NETFLIX_TV_US, DAY_1, "A")]))
        assert await store.has_chart(NETFLIX_TV_US, DAY_1)
    finally:
        await store.close()


@pytest.mark.parametrize("url", ["postgresql://bot:secret@db/top10", "postgres://db/top10"])
async def test_open_storage_postgres_is_not_available_yet(url: str) -> None:
    with pytest.raises(StorageUrlError, match="scale-out") as refused:
        await open_storage(url)
    assert "secret" not in str(refused.value)


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
async def test_open_storage_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match=r"sqlite:///relative/path\.db"):
        await open_storage(url)
