"""Property tests for the diff engine: random charts of 10 unique titles from a small pool."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.diff import (
    ChartState,
    DiffConfig,
    FamilyState,
    detect_chart_events,
    detect_family_events,
    period_step,
)
from bot.events import Event, EventType, Record
from bot.models import Chart, ChartKey, Entry, Granularity
from bot.ports import Family

POOL = tuple(f"t{n:02d}" for n in range(14))
START = date(2024, 1, 7)  # a Sunday, so weekly periods look like Netflix weeks
# Small thresholds so records, milestones and hours milestones actually fire in short runs.
EAGER = DiffConfig(
    climb_places=3,
    daily_milestones=(2, 3, 5),
    weekly_milestones=(2, 3, 5),
    record_min_history_days=0,
    record_min_periods=2,
    hours_milestones=(100, 250, 500),
)
CONFIGS = st.sampled_from([DiffConfig(), EAGER])
# No example database: runs stay independent of earlier runs and leave no .hypothesis/ behind.
PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, database=None)

EVENT_ORDER = [
    EventType.NEW_NUMBER_ONE,
    EventType.LOST_NUMBER_ONE,
    EventType.CLIMBED,
    EventType.ENTERED,
    EventType.LEFT,
    EventType.NUMBER_ONE_STREAK,
    EventType.TOP10_STREAK,
    EventType.ALL_TIME_LIST,
    EventType.RECORD_BROKEN,
    EventType.HOURS_MILESTONE,
]


@dataclass(frozen=True)
class Ranking:
    titles: tuple[str, ...]
    hours: tuple[int, ...] | None


rankings = st.builds(
    Ranking,
    titles=st.permutations(POOL).map(lambda order: tuple(order[:10])),
    hours=st.none() | st.lists(st.integers(0, 120), min_size=10, max_size=10).map(tuple),
)


def build_charts(
    granularity: Granularity, periods: Sequence[date], ranks: Sequence[Ranking]
) -> list[Chart]:
    key = ChartKey("test", "netflix", "US", "TV", granularity)
    return [
        Chart(
            key=key,
            period=period,
            entries=tuple(
                Entry(
                    rank=position + 1,
                    title_id=title_id,
                    title=title_id.upper(),
                    season="Season 1" if title_id.endswith("1") else None,
                    hours=ranking.hours[position] if ranking.hours is not None else None,
                )
                for position, title_id in enumerate(ranking.titles)
            ),
        )
        for period, ranking in zip(periods, ranks, strict=True)
    ]


@st.composite
def consecutive_charts(draw: st.DrawFn, min_size: int = 1) -> list[Chart]:
    granularity: Granularity = draw(st.sampled_from(["daily", "weekly"]))
    ranks = draw(st.lists(rankings, min_size=min_size, max_size=10))
    step = period_step(granularity)
    return build_charts(granularity, [START + n * step for n in range(len(ranks))], ranks)


@st.composite
def gapped_charts(draw: st.DrawFn) -> list[Chart]:
    """Charts with 0-4 missing periods between consecutive ones."""
    granularity: Granularity = draw(st.sampled_from(["daily", "weekly"]))
    ranks = draw(st.lists(rankings, min_size=2, max_size=8))
    gaps = draw(st.lists(st.integers(0, 4), min_size=len(ranks), max_size=len(ranks)))
    step = period_step(granularity)
    periods: list[date] = []
    period = START
    for missing in gaps:
        periods.append(period)
        period += (missing + 1) * step
    return build_charts(granularity, periods, ranks)


def fold(
    charts: Sequence[Chart], config: DiffConfig, through_json: bool = False
) -> tuple[list[list[Event]], ChartState | None]:
    state: ChartState | None = None
    per_chart: list[list[Event]] = []
    for chart in charts:
        if through_json and state is not None:
            state = ChartState.from_json(json.loads(json.dumps(state.to_json())))
        events, state = detect_chart_events(state, chart, config)
        per_chart.append(events)
    return per_chart, state


def state_bytes(state: ChartState | FamilyState | None) -> str:
    return json.dumps(state.to_json() if state is not None else None)


def event_bytes(per_chart: list[list[Event]]) -> str:
    return json.dumps([[event.to_json() for event in events] for events in per_chart])


def number_one(chart: Chart) -> str:
    top = chart.number_one()
    assert top is not None
    return top.title_id


@PROPERTY_SETTINGS
@given(charts=consecutive_charts(), config=CONFIGS)
def test_the_same_chart_twice_gives_nothing_the_second_time(
    charts: list[Chart], config: DiffConfig
) -> None:
    _, state = fold(charts, config)
    assert state is not None
    before = state_bytes(state)

    events, again = detect_chart_events(state, charts[-1], config)

    assert events == []
    assert again is state
    assert state_bytes(again) == before


@PROPERTY_SETTINGS
@given(charts=consecutive_charts(min_size=2), config=CONFIGS)
def test_exactly_one_new_number_one_when_the_top_changes(
    charts: list[Chart], config: DiffConfig
) -> None:
    per_chart, _ = fold(charts, config)

    for previous, chart, events in zip(charts, charts[1:], per_chart[1:], strict=False):
        changed = number_one(previous) != number_one(chart)
        new_tops = [e for e in events if e.type is EventType.NEW_NUMBER_ONE]
        lost_tops = [e for e in events if e.type is EventType.LOST_NUMBER_ONE]
        assert len(new_tops) == (1 if changed else 0)
        assert len(lost_tops) == (1 if changed else 0)
        if changed:
            assert new_tops[0].title_id == number_one(chart)
            assert lost_tops[0].title_id == number_one(previous)


@PROPERTY_SETTINGS
@given(charts=consecutive_charts(min_size=2), config=CONFIGS)
def test_entered_and_left_match_the_set_difference(charts: list[Chart], config: DiffConfig) -> None:
    per_chart, _ = fold(charts, config)

    for previous, chart, events in zip(charts, charts[1:], per_chart[1:], strict=False):
        before = {e.title_id for e in previous.entries}
        after = {e.title_id for e in chart.entries}
        entered = {e.title_id for e in events if e.type is EventType.ENTERED}
        left = {e.title_id for e in events if e.type is EventType.LEFT}
        debut_at_top = {number_one(chart)} - before
        assert entered == after - before - debut_at_top
        assert left == before - after


@PROPERTY_SETTINGS
@given(charts=consecutive_charts(), config=CONFIGS)
def test_replay_is_deterministic(charts: list[Chart], config: DiffConfig) -> None:
    first_events, first_state = fold(charts, config)
    second_events, second_state = fold(charts, config)

    assert event_bytes(first_events) == event_bytes(second_events)
    assert state_bytes(first_state) == state_bytes(second_state)


@PROPERTY_SETTINGS
@given(charts=gapped_charts(), config=CONFIGS)
def test_state_json_round_trip_changes_nothing(charts: list[Chart], config: DiffConfig) -> None:
    direct_events, direct_state = fold(charts, config)
    restored_events, restored_state = fold(charts, config, through_json=True)

    assert event_bytes(restored_events) == event_bytes(direct_events)
    assert state_bytes(restored_state) == state_bytes(direct_state)


@PROPERTY_SETTINGS
@given(charts=gapped_charts(), config=CONFIGS)
def test_events_are_ordered_unique_and_respect_the_gap_rule(
    charts: list[Chart], config: DiffConfig
) -> None:
    per_chart, _ = fold(charts, config)
    step = period_step(charts[0].key.granularity)
    baseline_only = {
        EventType.NEW_NUMBER_ONE,
        EventType.LOST_NUMBER_ONE,
        EventType.CLIMBED,
        EventType.ENTERED,
        EventType.LEFT,
        EventType.NUMBER_ONE_STREAK,
        EventType.TOP10_STREAK,
    }

    assert per_chart[0] == []
    for previous, chart, events in zip(charts, charts[1:], per_chart[1:], strict=False):
        order = [
            (EVENT_ORDER.index(e.type), e.rank is None, e.rank or 0, e.title_id) for e in events
        ]
        assert order == sorted(order)
        assert len({e.key for e in events}) == len(events)
        missing = (chart.period - previous.period) // step - 1
        if missing > config.max_gap_periods:
            assert not [e for e in events if e.type in baseline_only]


@PROPERTY_SETTINGS
@given(charts=gapped_charts(), config=CONFIGS)
def test_hours_records_are_announced_only_after_enough_charts_with_hours(
    charts: list[Chart], config: DiffConfig
) -> None:
    per_chart, state = fold(charts, config)
    assert state is not None

    charts_with_hours = 0
    for chart, events in zip(charts, per_chart, strict=True):
        has_hours = any(entry.hours is not None for entry in chart.entries)
        charts_with_hours += has_hours
        hours_records = [e for e in events if e.record is Record.MOST_WEEKLY_HOURS]
        if hours_records:
            assert has_hours
            assert charts_with_hours >= config.record_min_periods
    assert state.record_periods.get(Record.MOST_WEEKLY_HOURS, 0) == charts_with_hours
    assert state.record_periods[Record.LONGEST_NUMBER_ONE_RUN] == len(charts)


def region_charts(period: date, leaders: Sequence[str]) -> list[Chart]:
    return [
        Chart(
            key=ChartKey("test", "netflix", f"R{n:02d}", "TV", "weekly"),
            period=period,
            entries=(Entry(rank=1, title_id=leader, title=leader.upper()),),
        )
        for n, leader in enumerate(leaders)
    ]


FAMILY: Family = ("test", "netflix", "TV", "weekly")
FAMILY_CONFIG = DiffConfig(
    countries_thresholds=(2, 4, 6), record_min_history_days=0, record_min_periods=2
)
region_leaders = st.lists(st.sampled_from(POOL[:3]), min_size=1, max_size=12)


@PROPERTY_SETTINGS
@given(
    weeks=st.lists(region_leaders, min_size=1, max_size=4),
    last_week=region_leaders,
    cut_points=st.lists(st.integers(1, 12), max_size=4),
)
# Once found at random: the record's lead passes from one title to another and back.
@example(
    weeks=[["t00"]], last_week=["t00", "t01", "t01", "t00", "t00", "t01", "t01"], cut_points=[3, 5]
)
def test_rerunning_a_family_period_never_repeats_an_event_key(
    weeks: list[list[str]], last_week: list[str], cut_points: list[int]
) -> None:
    """Folding a period again as more regions arrive never announces the same key twice."""
    state: FamilyState | None = None
    for n, leaders in enumerate(weeks):
        week = START + timedelta(weeks=n)
        _, state = detect_family_events(
            state, FAMILY, week, region_charts(week, leaders), FAMILY_CONFIG
        )
    period = START + timedelta(weeks=len(weeks))
    growing = sorted({min(cut, len(last_week)) for cut in cut_points} | {len(last_week)})

    seen: set[str] = set()
    for size in [*growing, len(last_week)]:
        events, state = detect_family_events(
            state, FAMILY, period, region_charts(period, last_week[:size]), FAMILY_CONFIG
        )
        keys = [event.key for event in events]
        assert len(set(keys)) == len(keys)
        assert seen.isdisjoint(keys)
        seen.update(keys)

    restored = FamilyState.from_json(json.loads(state_bytes(state)))
    assert state_bytes(restored) == state_bytes(state)
