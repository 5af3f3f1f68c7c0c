"""Table tests for the diff engine (bot/diff.py): one section per event type and rule."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any

import pytest

from bot.diff import (
    ChartState,
    DiffConfig,
    FamilyState,
    detect_chart_events,
    detect_family_events,
    period_step,
)
from bot.events import Event, EventType, Record, RecordHolder
from bot.models import ALL_REGIONS, WORLD, Chart, ChartKey, Entry, Granularity
from bot.ports import Family

DAILY = ChartKey("flixpatrol", "netflix", "US", "TV Shows", "daily")
WEEKLY = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
ALLTIME = ChartKey("netflix", "netflix", WORLD, "TV (English)", "alltime")
TEN = tuple("abcdefghij")
DAY_ONE = date(2024, 3, 1)
WEEK_ONE = date(2024, 3, 3)  # a Sunday, as Netflix dates its weeks

E = EventType


def day(n: int) -> date:
    return DAY_ONE + timedelta(days=n - 1)


def week(n: int) -> date:
    return WEEK_ONE + timedelta(weeks=n - 1)


def display(title_id: str) -> str:
    return f"Title {title_id.upper()}"


def make_chart(
    period: date,
    titles: Sequence[str] = TEN,
    *,
    key: ChartKey = DAILY,
    hours: Sequence[int | None] | None = None,
    views: Sequence[int | None] | None = None,
    seasons: dict[str, str] | None = None,
) -> Chart:
    entries = tuple(
        Entry(
            rank=position + 1,
            title_id=title_id,
            title=display(title_id),
            season=(seasons or {}).get(title_id),
            hours=hours[position] if hours is not None else None,
            views=views[position] if views is not None else None,
        )
        for position, title_id in enumerate(titles)
    )
    return Chart(key=key, period=period, entries=entries)


def fold(
    charts: Iterable[Chart], config: DiffConfig | None = None
) -> tuple[list[list[Event]], ChartState | None]:
    """Fold charts in order; return each chart's events and the final state."""
    config = config or DiffConfig()
    state: ChartState | None = None
    per_chart: list[list[Event]] = []
    for chart in charts:
        events, state = detect_chart_events(state, chart, config)
        per_chart.append(events)
    return per_chart, state


def brief(events: Iterable[Event]) -> list[tuple[str, str, int | None, int | None]]:
    return [(e.type.value, e.title_id, e.rank, e.previous_rank) for e in events]


def of_type(events: Iterable[Event], event_type: EventType) -> list[Event]:
    return [e for e in events if e.type is event_type]


def streak_length(state: ChartState, title_id: str, granularity: Granularity = "daily") -> int:
    held = state.entries[title_id]
    return (state.last_period - held.since) // period_step(granularity) + 1


# --- period_step ---------------------------------------------------------------------------------


def test_period_step_daily_and_weekly() -> None:
    assert period_step("daily") == timedelta(days=1)
    assert period_step("weekly") == timedelta(days=7)


def test_period_step_refuses_all_time_lists() -> None:
    with pytest.raises(ValueError, match="alltime"):
        period_step("alltime")


@pytest.mark.parametrize(
    "field", ["daily_milestones", "weekly_milestones", "countries_thresholds", "hours_milestones"]
)
@pytest.mark.parametrize("values", [(5, 3), (3, 3), (0, 3)], ids=["unsorted", "repeated", "zero"])
def test_config_refuses_thresholds_that_are_not_positive_and_increasing(
    field: str, values: tuple[int, ...]
) -> None:
    overrides: dict[str, Any] = {field: values}
    with pytest.raises(ValueError, match=field):
        DiffConfig(**overrides)


def test_config_refuses_a_negative_gap() -> None:
    with pytest.raises(ValueError, match="max_gap_periods"):
        DiffConfig(max_gap_periods=-1)


# --- baseline and re-polls -----------------------------------------------------------------------


def test_first_chart_is_a_silent_baseline_even_when_everything_could_fire() -> None:
    eager = DiffConfig(daily_milestones=(1,), record_min_periods=1, hours_milestones=(1,))
    chart = make_chart(day(1), hours=[500] * 10, views=[50] * 10)

    events, state = detect_chart_events(None, chart, eager)

    assert events == []
    assert state.periods_seen == 1
    assert state.last_period == day(1)
    assert all(streak_length(state, title_id) == 1 for title_id in TEN)
    assert state.number_one_since == day(1)
    assert state.cumulative_hours == dict.fromkeys(TEN, 500)
    run = state.records[Record.LONGEST_NUMBER_ONE_RUN]
    assert (run.title_id, run.value, run.period) == ("a", 1, day(1))
    assert state.records[Record.MOST_WEEKLY_HOURS].value == 500
    assert state.records[Record.MOST_WEEKLY_VIEWS].value == 50


@pytest.mark.parametrize("period", [day(2), day(1)], ids=["same-period", "older-period"])
def test_repoll_or_out_of_order_chart_gives_nothing_and_keeps_the_state(period: date) -> None:
    _, state = fold([make_chart(day(1)), make_chart(day(2))])
    assert state is not None
    before = state.to_json()
    shuffled = make_chart(period, tuple(reversed(TEN)))

    events, after = detect_chart_events(state, shuffled, DiffConfig())

    assert events == []
    assert after is state
    assert after.to_json() == before


def test_folding_never_mutates_the_input_state() -> None:
    _, state = fold([make_chart(day(1), hours=[10] * 10), make_chart(day(2), hours=[10] * 10)])
    assert state is not None
    before = json.dumps(state.to_json())

    detect_chart_events(
        state, make_chart(day(3), tuple("kabcdefghi"), hours=[5] * 10), DiffConfig()
    )

    assert json.dumps(state.to_json()) == before


# --- movement: new/lost #1, entered, left, climbed ------------------------------------------------

MOVEMENT_CASES = [
    pytest.param("abcdefghij", [], id="unchanged"),
    pytest.param(
        "bacdefghij",
        [("new_number_one", "b", 1, 2), ("lost_number_one", "a", 2, 1)],
        id="swap-at-the-top",
    ),
    pytest.param(
        "gabcdefhij",
        [("new_number_one", "g", 1, 7), ("lost_number_one", "a", 2, 1)],
        id="new-number-one-from-7-is-not-also-climbed",
    ),
    pytest.param(
        "kabcdefghi",
        [
            ("new_number_one", "k", 1, None),
            ("lost_number_one", "a", 2, 1),
            ("left", "j", None, 10),
        ],
        id="debut-at-number-one-is-not-also-entered",
    ),
    pytest.param(
        "bcdefghijk",
        [
            ("new_number_one", "b", 1, 2),
            ("lost_number_one", "a", None, 1),
            ("entered", "k", 10, None),
            ("left", "a", None, 1),
        ],
        id="number-one-leaves-the-chart",
    ),
    pytest.param("agbcdefhij", [("climbed", "g", 2, 7)], id="climb-of-exactly-5"),
    pytest.param("afbcdeghij", [], id="climb-of-4-is-not-enough"),
    pytest.param(
        "abcdefghlk",
        [
            ("entered", "l", 9, None),
            ("entered", "k", 10, None),
            ("left", "i", None, 9),
            ("left", "j", None, 10),
        ],
        id="two-in-two-out",
    ),
    pytest.param(
        "ajibcdefgh",
        [("climbed", "j", 2, 10), ("climbed", "i", 3, 9)],
        id="two-climbers-ordered-by-rank",
    ),
]


@pytest.mark.parametrize(("new_order", "expected"), MOVEMENT_CASES)
def test_movement_against_the_previous_chart(
    new_order: str, expected: list[tuple[str, str, int | None, int | None]]
) -> None:
    per_chart, _ = fold([make_chart(day(1)), make_chart(day(2), tuple(new_order))])

    assert brief(per_chart[1]) == expected


def test_climb_threshold_follows_config() -> None:
    per_chart, _ = fold(
        [make_chart(day(1)), make_chart(day(2), tuple("afbcdeghij"))],
        DiffConfig(climb_places=4),
    )

    assert brief(per_chart[1]) == [("climbed", "f", 2, 6)]


def test_events_carry_title_season_chart_and_period() -> None:
    seasons = {"b": "Season 2"}
    per_chart, _ = fold(
        [
            make_chart(day(1), seasons=seasons),
            make_chart(day(2), tuple("bacdefghij"), seasons=seasons),
        ]
    )
    new_number_one = of_type(per_chart[1], E.NEW_NUMBER_ONE)[0]

    assert new_number_one.title == "Title B"
    assert new_number_one.season == "Season 2"
    assert new_number_one.chart == DAILY
    assert new_number_one.period == day(2)
    assert of_type(per_chart[1], E.LOST_NUMBER_ONE)[0].season is None
    assert new_number_one.key == "new_number_one:flixpatrol:netflix:US:TV Shows:daily:2024-03-02:b"


# --- streaks, milestones and the gap rule ---------------------------------------------------------


def test_daily_streak_milestones_fire_once_each_on_the_day_they_are_reached() -> None:
    per_chart, _ = fold([make_chart(day(n)) for n in range(1, 8)])

    number_one = [
        (i + 1, e.value, e.qualifier)
        for i, events in enumerate(per_chart)
        for e in of_type(events, E.NUMBER_ONE_STREAK)
    ]
    assert number_one == [(3, 3, "3"), (5, 5, "5"), (7, 7, "7")]
    day_three_top10 = of_type(per_chart[2], E.TOP10_STREAK)
    assert [(e.title_id, e.rank, e.value, e.unit, e.qualifier) for e in day_three_top10] == [
        (title_id, rank, 3, "days", "3") for rank, title_id in enumerate(TEN, start=1)
    ]
    assert of_type(per_chart[2], E.NUMBER_ONE_STREAK)[0].unit == "days"
    assert per_chart[2][0].key.endswith(":a:3")


def test_streak_of_a_new_title_starts_at_its_entry() -> None:
    charts = [make_chart(day(1)), make_chart(day(2), tuple("abcdefghik"))]
    charts += [make_chart(day(n), tuple("abcdefghik")) for n in (3, 4)]
    per_chart, state = fold(charts)
    assert state is not None

    assert [e.title_id for e in of_type(per_chart[2], E.TOP10_STREAK)] == list("abcdefghi")
    assert [e.title_id for e in of_type(per_chart[3], E.TOP10_STREAK)] == ["k"]
    assert streak_length(state, "k") == 3
    assert streak_length(state, "a") == 4


def test_number_one_run_restarts_after_losing_the_top_spot() -> None:
    orders = ["abcdefghij", "abcdefghij", "bacdefghij", "abcdefghij", "abcdefghij"]
    per_chart, state = fold([make_chart(day(n + 1), tuple(o)) for n, o in enumerate(orders)])
    assert state is not None

    assert all(of_type(events, E.NUMBER_ONE_STREAK) == [] for events in per_chart)
    assert state.number_one_since == day(4)


def test_bridged_gap_counts_calendar_days_and_keeps_movement() -> None:
    # #1 on days 1, 2 and 4 (no data for day 3) is a 4-day run.
    charts = [make_chart(day(1)), make_chart(day(2)), make_chart(day(4), tuple("abcdefghik"))]
    per_chart, state = fold(charts)
    assert state is not None

    day_four = per_chart[2]
    assert brief(of_type(day_four, E.ENTERED) + of_type(day_four, E.LEFT)) == [
        ("entered", "k", 10, None),
        ("left", "j", None, 10),
    ]
    [run] = of_type(day_four, E.NUMBER_ONE_STREAK)
    assert (run.title_id, run.value, run.qualifier) == ("a", 4, "3")
    assert [(e.title_id, e.value) for e in of_type(day_four, E.TOP10_STREAK)] == [
        (title_id, 4) for title_id in "abcdefghi"
    ]
    assert streak_length(state, "a") == 4
    assert state.periods_seen == 3


def test_gap_of_exactly_max_gap_periods_is_bridged_and_fires_only_the_highest_milestone() -> None:
    # Two days missing (3 and 4): the run goes from 2 to 5 days, passing milestones 3 and 5.
    per_chart, _ = fold([make_chart(day(1)), make_chart(day(2)), make_chart(day(5))])

    [run] = of_type(per_chart[2], E.NUMBER_ONE_STREAK)
    assert (run.value, run.qualifier) == (5, "5")


def test_milestone_jump_over_several_milestones_fires_one_event() -> None:
    config = DiffConfig(max_gap_periods=10)
    per_chart, _ = fold([make_chart(day(1)), make_chart(day(2)), make_chart(day(12))], config)

    [run] = of_type(per_chart[2], E.NUMBER_ONE_STREAK)
    assert (run.value, run.qualifier) == (12, "10")
    assert {e.qualifier for e in of_type(per_chart[2], E.TOP10_STREAK)} == {"10"}


def test_gap_longer_than_max_is_a_new_baseline_for_movement_and_streaks() -> None:
    # Days 3, 4 and 5 missing: three periods, one more than max_gap_periods.
    changed = tuple("kbcdefghil")
    charts = [make_chart(day(1)), make_chart(day(2)), make_chart(day(6), changed)]
    charts += [make_chart(day(7), changed), make_chart(day(8), changed)]
    per_chart, state = fold(charts)
    assert state is not None

    assert per_chart[2] == []
    assert per_chart[3] == []
    assert {e.type for e in per_chart[4]} == {E.NUMBER_ONE_STREAK, E.TOP10_STREAK}
    assert all(e.value == 3 for e in per_chart[4])  # restarted on day 6
    assert state.periods_seen == 5


def test_gap_baseline_keeps_records_hours_and_periods_seen() -> None:
    config = DiffConfig(record_min_periods=3, hours_milestones=(100,))
    charts = [
        make_chart(day(1), hours=[60] + [1] * 9),
        make_chart(day(2), hours=[30] + [1] * 9),
        make_chart(day(9), tuple("kabcdefghi"), hours=[80, 20] + [1] * 8),
    ]
    per_chart, state = fold(charts, config)
    assert state is not None

    assert brief(per_chart[2]) == [
        ("record_broken", "k", 1, None),
        ("hours_milestone", "a", 2, None),
    ]
    [record] = of_type(per_chart[2], E.RECORD_BROKEN)
    assert record.record is Record.MOST_WEEKLY_HOURS
    assert record.previous == RecordHolder("Title A", None, 60, day(1))
    assert state.cumulative_hours["a"] == 110
    assert state.periods_seen == 3


def test_weekly_streaks_count_weeks_and_bridge_missing_weeks() -> None:
    weekly = [make_chart(week(n), key=WEEKLY) for n in (1, 2, 4)]
    per_chart, state = fold(weekly)
    assert state is not None

    assert [(e.value, e.unit, e.qualifier) for e in of_type(per_chart[1], E.NUMBER_ONE_STREAK)] == [
        (2, "weeks", "2")
    ]
    assert [(e.value, e.unit, e.qualifier) for e in of_type(per_chart[2], E.NUMBER_ONE_STREAK)] == [
        (4, "weeks", "4")
    ]
    assert streak_length(state, "a", "weekly") == 4


def test_weekly_gap_longer_than_max_is_a_new_baseline() -> None:
    per_chart, state = fold([make_chart(week(n), key=WEEKLY) for n in (1, 2, 6)])
    assert state is not None

    assert per_chart[2] == []
    assert streak_length(state, "a", "weekly") == 1


# --- records --------------------------------------------------------------------------------------


def run_orders(*runs: tuple[str, int]) -> list[Chart]:
    """Daily charts where each (title, days) in turn sits at #1 for that many days."""
    charts: list[Chart] = []
    for leader, days in runs:
        order = (leader, *[t for t in (*TEN, "k") if t != leader][:9])
        for _ in range(days):
            charts.append(make_chart(day(len(charts) + 1), order))
    return charts


def records_of(
    per_chart: list[list[Event]], record: Record | None = None
) -> list[tuple[int, str, int | None, str]]:
    """(chart number, title, value, qualifier) of every record_broken, optionally of one record."""
    return [
        (n + 1, e.title_id, e.value, e.qualifier)
        for n, events in enumerate(per_chart)
        for e in of_type(events, E.RECORD_BROKEN)
        if record is None or e.record is record
    ]


def test_longest_run_record_broken_by_another_title() -> None:
    per_chart, state = fold(run_orders(("a", 3), ("b", 5)), DiffConfig(record_min_periods=1))
    assert state is not None

    assert records_of(per_chart) == [(7, "b", 4, "longest_number_one_run")]
    [record] = of_type(per_chart[6], E.RECORD_BROKEN)
    assert record.record is Record.LONGEST_NUMBER_ONE_RUN
    assert record.unit == "days"
    assert record.rank == 1
    assert record.previous == RecordHolder("Title A", None, 3, day(3))
    holder = state.records[Record.LONGEST_NUMBER_ONE_RUN]
    assert (holder.title_id, holder.value, holder.period) == ("b", 5, day(8))


def test_records_are_tracked_silently_until_enough_history() -> None:
    # b passes a on day 7 (history 7 < 8: silent); c passes b on day 12 (history 12: announced).
    per_chart, _ = fold(run_orders(("a", 3), ("b", 4), ("c", 5)))

    assert records_of(per_chart) == [(12, "c", 5, "longest_number_one_run")]
    [record] = of_type(per_chart[11], E.RECORD_BROKEN)
    assert record.previous == RecordHolder("Title B", None, 4, day(7))


def test_title_beating_its_own_record_updates_it_silently() -> None:
    per_chart, state = fold(
        run_orders(("a", 3), ("b", 1), ("a", 5)), DiffConfig(record_min_periods=1)
    )
    assert state is not None

    assert records_of(per_chart) == []
    holder = state.records[Record.LONGEST_NUMBER_ONE_RUN]
    assert (holder.title_id, holder.value, holder.period) == ("a", 5, day(9))


def weekly_with(values: dict[str, int], field: str, n: int) -> Chart:
    """A weekly chart ranked by `values`, carrying them as hours or views."""
    order = sorted(values, key=lambda title_id: -values[title_id])
    column = [values[t] for t in order]
    if field == "hours":
        return make_chart(week(n), order, key=WEEKLY, hours=column)
    return make_chart(week(n), order, key=WEEKLY, views=column)


@pytest.mark.parametrize(
    ("field", "record"),
    [("hours", Record.MOST_WEEKLY_HOURS), ("views", Record.MOST_WEEKLY_VIEWS)],
)
def test_weekly_value_records(field: str, record: Record) -> None:
    weeks = [
        {"a": 100, "b": 90, "c": 10},
        {"b": 150, "a": 120, "c": 10},  # b passes a's 100: announced
        {"b": 200, "a": 20, "c": 10},  # b beats its own 150: silent
        {"a": 180, "b": 20, "c": 10},  # below the record: nothing
        {"c": 201, "a": 20, "b": 10},  # c passes b: announced
    ]
    config = DiffConfig(record_min_periods=1, hours_milestones=())
    per_chart, state = fold([weekly_with(v, field, n + 1) for n, v in enumerate(weeks)], config)
    assert state is not None

    assert records_of(per_chart, record) == [
        (2, "b", 150, record.value),
        (5, "c", 201, record.value),
    ]
    first, second = [
        e for n in (1, 4) for e in of_type(per_chart[n], E.RECORD_BROKEN) if e.record is record
    ]
    assert (first.record, first.unit, first.rank) == (record, field, 1)
    assert first.previous == RecordHolder("Title A", None, 100, week(1))
    assert second.previous == RecordHolder("Title B", None, 200, week(3))
    assert set(state.records) == {Record.LONGEST_NUMBER_ONE_RUN, record}


def test_value_records_wait_for_min_history() -> None:
    weeks = [{"a": 100, "b": 1}, {"b": 150, "a": 1}, {"a": 300, "b": 1}]
    per_chart, state = fold([weekly_with(v, "hours", n + 1) for n, v in enumerate(weeks)])
    assert state is not None

    assert records_of(per_chart) == []
    assert state.records[Record.MOST_WEEKLY_HOURS].value == 300


def rising_weeks(weeks: int, views_weeks: set[int]) -> list[Chart]:
    """Weekly charts where a different title than last week leads with ever more hours (and views
    in `views_weeks`), so every week after the first breaks the hours record and every views week
    after the first views week breaks the views record."""
    charts = []
    for n in range(1, weeks + 1):
        leader = TEN[n % 3]
        order = (leader, *[t for t in TEN if t != leader])
        views = [10 * n] + [1] * 9 if n in views_weeks else None
        charts.append(
            make_chart(week(n), order, key=WEEKLY, hours=[100 * n] + [1] * 9, views=views)
        )
    return charts


@pytest.mark.parametrize(
    ("views_weeks", "expected_views_records"),
    [
        pytest.param(set(range(1, 21)), list(range(8, 21)), id="views-from-the-start"),
        # Netflix published hours only until 2023-06-18, then both.
        pytest.param(set(range(11, 21)), [18, 19, 20], id="views-after-10-hours-only-weeks"),
        pytest.param(set(range(1, 21, 2)), [15, 17, 19], id="views-every-other-week"),
        pytest.param(set(range(14, 21)), [], id="too-few-views-weeks"),
    ],
)
def test_each_record_waits_for_its_own_history(
    views_weeks: set[int], expected_views_records: list[int]
) -> None:
    per_chart, state = fold(rising_weeks(20, views_weeks), DiffConfig(hours_milestones=()))
    assert state is not None

    views_records = records_of(per_chart, Record.MOST_WEEKLY_VIEWS)
    assert [n for n, *_ in views_records] == expected_views_records
    assert all(value == 10 * n for n, _, value, _ in views_records)
    hours_records = records_of(per_chart, Record.MOST_WEEKLY_HOURS)
    assert [n for n, *_ in hours_records] == list(range(8, 21))
    assert records_of(per_chart, Record.LONGEST_NUMBER_ONE_RUN) == []
    assert state.record_periods == {
        Record.LONGEST_NUMBER_ONE_RUN: 20,
        Record.MOST_WEEKLY_HOURS: 20,
        Record.MOST_WEEKLY_VIEWS: len(views_weeks),
    }


def test_views_record_after_hours_only_weeks_names_the_first_views_holder() -> None:
    per_chart, _ = fold(rising_weeks(18, set(range(11, 19))), DiffConfig(hours_milestones=()))

    [views_record] = [
        e for e in of_type(per_chart[17], E.RECORD_BROKEN) if e.record is Record.MOST_WEEKLY_VIEWS
    ]
    # Weeks 11-17 raised the views record silently; week 17's leader held it.
    assert (views_record.title_id, views_record.value, views_record.unit) == ("a", 180, "views")
    assert views_record.previous == RecordHolder("Title C", None, 170, week(17))


def test_record_periods_count_only_charts_that_measure_the_record() -> None:
    no_number_one = Chart(
        key=WEEKLY,
        period=week(5),
        entries=(Entry(rank=2, title_id="a", title="Title A", hours=5, views=5),),
    )
    charts = [
        make_chart(week(1), key=WEEKLY, hours=[5] * 10),
        make_chart(week(2), key=WEEKLY, views=[5] * 10),
        make_chart(week(3), key=WEEKLY, hours=[5] * 10, views=[5] * 10),
        make_chart(week(4), key=WEEKLY, hours=[None] * 9 + [5], views=[None] * 10),
        no_number_one,
    ]
    _, state = fold(charts)
    assert state is not None

    assert state.periods_seen == 5
    assert state.record_periods == {
        Record.LONGEST_NUMBER_ONE_RUN: 4,
        Record.MOST_WEEKLY_HOURS: 4,
        Record.MOST_WEEKLY_VIEWS: 3,
    }


def test_one_title_breaking_two_records_gets_two_distinct_keys() -> None:
    charts = [
        make_chart(week(1), key=WEEKLY, hours=[100] * 10, views=[50] * 10),
        make_chart(week(2), tuple("bacdefghij"), key=WEEKLY, hours=[200] * 10, views=[90] * 10),
    ]
    per_chart, _ = fold(charts, DiffConfig(record_min_periods=1))

    records = of_type(per_chart[1], E.RECORD_BROKEN)
    assert [(e.title_id, e.record) for e in records] == [
        ("b", Record.MOST_WEEKLY_HOURS),
        ("b", Record.MOST_WEEKLY_VIEWS),
    ]
    assert len({e.key for e in per_chart[1]}) == len(per_chart[1])


# --- hours milestones -----------------------------------------------------------------------------


def test_hours_milestones_accumulate_per_title_and_fire_the_highest_crossed() -> None:
    million = 1_000_000
    charts = [
        make_chart(week(1), "ab", key=WEEKLY, hours=[90 * million, 5 * million]),
        make_chart(week(2), "ab", key=WEEKLY, hours=[20 * million, None]),
        make_chart(week(3), "ba", key=WEEKLY, hours=[1 * million, 500 * million]),
        make_chart(week(4), "bc", key=WEEKLY, hours=[1 * million, 1 * million]),
        make_chart(week(5), "ab", key=WEEKLY, hours=[500 * million, 1 * million]),
    ]
    per_chart, state = fold(charts)
    assert state is not None

    milestones = [
        (n + 1, e.title_id, e.rank, e.value, e.unit, e.qualifier)
        for n, events in enumerate(per_chart)
        for e in of_type(events, E.HOURS_MILESTONE)
    ]
    assert milestones == [
        (2, "a", 1, 110 * million, "hours", "100000000"),
        (3, "a", 2, 610 * million, "hours", "500000000"),
        (5, "a", 1, 1110 * million, "hours", "1000000000"),
    ]
    assert state.cumulative_hours == {"a": 1110 * million, "b": 8 * million, "c": million}


def test_no_hours_milestone_on_the_baseline_chart() -> None:
    per_chart, state = fold(
        [make_chart(week(1), "a", key=WEEKLY, hours=[300_000_000])], DiffConfig()
    )
    assert state is not None

    assert per_chart == [[]]
    assert state.cumulative_hours == {"a": 300_000_000}


# --- all-time lists -------------------------------------------------------------------------------


def test_all_time_list_new_and_moved_up_only() -> None:
    first = make_chart(date(2022, 2, 8), "abcd", key=ALLTIME, hours=[400, 300, 200, 100])
    # b moves up, a moves down, c keeps its rank, e is new, d drops out.
    second = make_chart(
        date(2022, 3, 1),
        "bace",
        key=ALLTIME,
        hours=[500, 450, 250, 120],
        views=[None, None, None, 90],
    )
    per_chart, state = fold([first, second], DiffConfig(record_min_periods=1))
    assert state is not None

    assert per_chart[0] == []
    assert [
        (e.type, e.title_id, e.rank, e.previous_rank, e.value, e.unit) for e in per_chart[1]
    ] == [
        (E.ALL_TIME_LIST, "b", 1, 2, 500, "hours"),
        (E.ALL_TIME_LIST, "e", 4, None, 90, "views"),
    ]
    assert state.periods_seen == 2
    assert state.records == {}
    assert state.cumulative_hours == {}


def test_all_time_list_repoll_and_weeks_apart_snapshots() -> None:
    snapshot = make_chart(date(2022, 2, 8), "abc", key=ALLTIME, views=[3, 2, 1])
    later = make_chart(date(2023, 5, 30), "cab", key=ALLTIME, views=[9, 8, 7])
    per_chart, _ = fold([snapshot, snapshot, later])

    assert per_chart[1] == []
    assert brief(per_chart[2]) == [("all_time_list", "c", 1, 3)]


# --- event order ----------------------------------------------------------------------------------


def test_events_of_one_chart_come_in_the_documented_order() -> None:
    config = DiffConfig(climb_places=2, record_min_periods=1, hours_milestones=(100,))
    base_hours = [45] + [10] * 9
    charts = [
        make_chart(day(1), hours=base_hours),
        make_chart(day(2), hours=base_hours),
        make_chart(day(3), tuple("hiabcdefkl"), hours=[200] + [10] * 9),
    ]
    per_chart, _ = fold(charts, config)

    assert [(e.type.value, e.title_id) for e in per_chart[2]] == [
        ("new_number_one", "h"),
        ("lost_number_one", "a"),
        ("climbed", "i"),
        ("entered", "k"),
        ("entered", "l"),
        ("left", "g"),
        ("left", "j"),
        *[("top10_streak", t) for t in "hiabcdef"],
        ("record_broken", "h"),
        ("hours_milestone", "h"),
        ("hours_milestone", "a"),
    ]


# --- state JSON -----------------------------------------------------------------------------------


def test_chart_state_round_trips_through_json() -> None:
    charts = run_orders(("a", 3), ("b", 2))
    charts = [
        make_chart(c.period, [e.title_id for e in c.entries], hours=[7] * 10, views=[3] * 10)
        for c in charts
    ]
    _, state = fold(charts, DiffConfig(record_min_periods=1))
    assert state is not None

    restored = ChartState.from_json(json.loads(json.dumps(state.to_json())))

    assert restored == state
    assert restored.to_json() == state.to_json()


def test_state_json_without_record_periods_is_refused() -> None:
    _, state = fold([make_chart(day(1))])
    assert state is not None
    data = state.to_json()
    del data["record_periods"]

    with pytest.raises(KeyError, match="record_periods"):
        ChartState.from_json(data)


def test_version_one_state_json_is_refused() -> None:
    # Version 1 counted every chart of the key towards every record; its states cannot say how
    # many periods each record was measured.
    _, state = fold([make_chart(day(1))])
    assert state is not None
    data = state.to_json() | {"v": 1}
    del data["record_periods"]

    with pytest.raises(ValueError, match="version 1"):
        ChartState.from_json(data)


def test_state_json_of_another_version_is_refused() -> None:
    _, state = fold([make_chart(day(1))])
    assert state is not None
    data = state.to_json() | {"v": 999}

    with pytest.raises(ValueError, match="version"):
        ChartState.from_json(data)


# --- family events: "#1 in N regions" -------------------------------------------------------------

FAMILY: Family = ("netflix", "netflix", "TV", "weekly")
ALL_KEY = ChartKey("netflix", "netflix", ALL_REGIONS, "TV", "weekly")


def region_codes(n: int) -> list[str]:
    return [f"{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(n)]


def family_charts(period: date, leaders: Sequence[str], *, world: str | None = None) -> list[Chart]:
    """One chart per region; `leaders[i]` is #1 in region i."""
    charts = [
        make_chart(
            period,
            (leader, f"filler-{region}"),
            key=ChartKey("netflix", "netflix", region, "TV", "weekly"),
        )
        for region, leader in zip(region_codes(len(leaders)), leaders, strict=True)
    ]
    if world is not None:
        key = ChartKey("netflix", "netflix", WORLD, "TV", "weekly")
        charts.append(make_chart(period, (world, "filler-world"), key=key))
    return charts


def leaders(count: int, total: int, title_id: str = "x") -> list[str]:
    """`title_id` at #1 in `count` regions, a different one-region title in each other region."""
    return [title_id] * count + [f"solo-{i}" for i in range(total - count)]


def fold_family(
    calls: Sequence[tuple[date, list[Chart]]], config: DiffConfig | None = None
) -> tuple[list[list[Event]], FamilyState | None]:
    config = config or DiffConfig()
    state: FamilyState | None = None
    per_call: list[list[Event]] = []
    for period, charts in calls:
        events, state = detect_family_events(state, FAMILY, period, charts, config)
        per_call.append(events)
    return per_call, state


@pytest.mark.parametrize(
    ("before", "count", "total", "expected"),
    [
        pytest.param(5, 12, 30, "10", id="crosses-10"),
        pytest.param(0, 30, 60, "25", id="crosses-10-and-25"),
        pytest.param(9, 80, 90, "75", id="crosses-four-thresholds"),
        pytest.param(12, 20, 30, None, id="no-threshold-between"),
        pytest.param(0, 9, 30, None, id="below-the-first"),
        pytest.param(15, 20, 20, "all", id="every-region"),
        pytest.param(5, 12, 12, "all", id="all-beats-10"),
        pytest.param(0, 10, 10, "all", id="all-preferred-on-a-tie"),
        pytest.param(0, 8, 8, None, id="all-needs-the-smallest-threshold-of-regions"),
        pytest.param(20, 20, 20, None, id="already-everywhere"),
        pytest.param(50, 10, 60, None, id="falling"),
    ],
)
def test_countries_thresholds(before: int, count: int, total: int, expected: str | None) -> None:
    calls = [
        (week(1), family_charts(week(1), leaders(before, total))),
        (week(2), family_charts(week(2), leaders(count, total))),
    ]
    per_call, _ = fold_family(calls)

    assert per_call[0] == []
    countries = of_type(per_call[1], E.COUNTRIES_AT_NUMBER_ONE)
    if expected is None:
        assert countries == []
        return
    [event] = countries
    assert event.title_id == "x"
    assert event.title == "Title X"
    assert (event.rank, event.value, event.unit, event.total_regions) == (
        1,
        count,
        "regions",
        total,
    )
    assert event.qualifier == expected
    assert event.chart == ALL_KEY
    assert event.period == week(2)
    assert event.key.endswith(f":x:{expected}")


def test_world_chart_is_not_a_region() -> None:
    calls = [
        (week(1), family_charts(week(1), leaders(0, 12), world="x")),
        (week(2), family_charts(week(2), leaders(10, 12), world="x")),
    ]
    per_call, state = fold_family(calls)
    assert state is not None

    [event] = per_call[1]
    assert (event.value, event.total_regions, event.qualifier) == (10, 12, "10")
    assert state.counts["x"] == 10


def test_first_family_period_is_a_baseline_even_when_rerun() -> None:
    calls = [
        (week(1), family_charts(week(1), leaders(12, 20))),
        (week(1), family_charts(week(1), leaders(30, 30))),
    ]
    per_call, state = fold_family(calls, DiffConfig(record_min_periods=1))
    assert state is not None

    assert per_call == [[], []]
    assert state.counts["x"] == 30


def test_rerun_of_a_period_with_more_regions() -> None:
    calls = [
        (week(1), family_charts(week(1), leaders(5, 20) + leaders(11, 11, "y"))),
        (week(2), family_charts(week(2), leaders(12, 20) + leaders(8, 11, "y"))),
        (week(2), family_charts(week(2), leaders(13, 25) + leaders(9, 11, "y"))),
        (week(2), family_charts(week(2), leaders(26, 40) + leaders(11, 14, "y"))),
        (week(2), family_charts(week(2), leaders(26, 40) + leaders(11, 14, "y"))),
        (week(3), family_charts(week(3), leaders(26, 40) + leaders(14, 14, "y"))),
    ]
    per_call, state = fold_family(calls)
    assert state is not None

    countries = [[(e.title_id, e.value, e.qualifier) for e in events] for events in per_call]
    assert countries == [
        [],
        [("x", 12, "10")],
        [],  # x already announced at 10; y's 9 is below its previous period's 11
        [("x", 26, "25")],  # y back at 11 of its previous 11: nothing crossed
        [],
        [],  # week 3 compares with week 2 as last folded: x stays at 26, y gains 3
    ]
    assert state.previous_counts is not None
    assert state.previous_counts["x"] == 26


def test_all_regions_then_more_regions_does_not_step_back() -> None:
    calls = [
        (week(1), family_charts(week(1), leaders(0, 11))),
        (week(2), family_charts(week(2), leaders(11, 11))),
        (week(2), family_charts(week(2), leaders(12, 15))),
        (week(2), family_charts(week(2), leaders(30, 30))),
        (week(2), family_charts(week(2), leaders(40, 40))),
    ]
    per_call, _ = fold_family(calls)

    assert [[(e.value, e.qualifier) for e in events] for events in per_call] == [
        [],
        [(11, "all")],
        [],
        [(30, "25")],
        [],
    ]


def test_most_regions_record() -> None:
    calls = [
        (week(1), family_charts(week(1), leaders(12, 30))),
        (week(2), family_charts(week(2), leaders(15, 30, "y"))),
        (week(3), family_charts(week(3), leaders(20, 30, "y"))),
        (week(4), family_charts(week(4), leaders(21, 30, "x"))),
    ]
    per_call, state = fold_family(calls, DiffConfig(record_min_periods=2))
    assert state is not None

    assert [[(e.type.value, e.title_id) for e in events] for events in per_call] == [
        [],
        [("countries_at_number_one", "y"), ("record_broken", "y")],
        [],
        [("countries_at_number_one", "x"), ("record_broken", "x")],
    ]
    record = per_call[1][1]
    assert record.record is Record.MOST_REGIONS_AT_NUMBER_ONE
    assert (record.value, record.unit, record.total_regions, record.rank) == (15, "regions", 30, 1)
    assert record.previous == RecordHolder("Title X", None, 12, week(1))
    assert record.chart == ALL_KEY
    assert per_call[3][1].previous == RecordHolder("Title Y", None, 20, week(3))
    assert state.record is not None
    assert (state.record.title_id, state.record.value) == ("x", 21)


def test_most_regions_record_passing_back_and_forth_in_one_period_tells_each_title_once() -> None:
    # Found by hypothesis (test_diff_properties): as regions arrive, y leads, then x, then y
    # again; y's second lead would have repeated its first event's key.
    calls = [
        (week(1), family_charts(week(1), leaders(1, 1))),
        (week(2), family_charts(week(2), ["x", "y", "y"])),
        (week(2), family_charts(week(2), ["x", "y", "y", "x", "x"])),
        (week(2), family_charts(week(2), ["x", "y", "y", "x", "x", "y", "y"])),
        (week(3), family_charts(week(3), ["y"] * 8)),
    ]
    per_call, state = fold_family(calls, DiffConfig(record_min_periods=2))
    assert state is not None

    records = [
        [(e.title_id, e.value) for e in of_type(events, E.RECORD_BROKEN)] for events in per_call
    ]
    assert records == [[], [("y", 2)], [("x", 3)], [], []]
    assert state.record is not None
    assert (state.record.title_id, state.record.value) == ("y", 8)
    keys = [event.key for events in per_call for event in events]
    assert len(keys) == len(set(keys))


def test_family_state_json_from_before_record_notices_reads_as_none_told() -> None:
    _, state = fold_family(
        [
            (week(1), family_charts(week(1), leaders(3, 12))),
            (week(2), family_charts(week(2), leaders(11, 12))),
        ]
    )
    assert state is not None
    data = state.to_json()
    assert data["announced"] == {"x": [10, False, False]}
    data["announced"] = {"x": [10, False]}  # as states were written before

    restored = FamilyState.from_json(data)

    assert restored == state


def test_most_regions_record_waits_for_family_history() -> None:
    calls = [
        (week(1), family_charts(week(1), leaders(12, 30))),
        (week(2), family_charts(week(2), leaders(15, 30, "y"))),
    ]
    per_call, state = fold_family(calls)
    assert state is not None

    assert of_type(per_call[1], E.RECORD_BROKEN) == []
    assert state.record is not None
    assert (state.record.title_id, state.record.value) == ("y", 15)


def test_older_family_period_is_ignored() -> None:
    _, state = fold_family(
        [
            (week(1), family_charts(week(1), leaders(0, 12))),
            (week(2), family_charts(week(2), leaders(0, 12))),
        ]
    )
    assert state is not None

    events, after = detect_family_events(
        state, FAMILY, week(1), family_charts(week(1), leaders(12, 12)), DiffConfig()
    )

    assert events == []
    assert after is state


def test_family_state_round_trips_through_json() -> None:
    _, state = fold_family(
        [
            (week(1), family_charts(week(1), leaders(3, 12))),
            (week(2), family_charts(week(2), leaders(11, 12))),
        ]
    )
    assert state is not None

    restored = FamilyState.from_json(json.loads(json.dumps(state.to_json())))

    assert restored == state
