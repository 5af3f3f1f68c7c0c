"""Family rules (bot/diff/family.py): "#1 in N regions" and the most-regions record."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

import pytest

from bot.diff import (
    DiffConfig,
    FamilyState,
    detect_family_events,
)
from bot.events import Event, Record, RecordHolder
from bot.models import ALL_REGIONS, WORLD, Chart, ChartKey
from bot.ports import Family
from tests.diff_charts import (
    E,
    make_chart,
    of_type,
    week,
)

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
    per_call, state = fold_family(
        calls, DiffConfig(record_min_history_days=0, record_min_periods=1)
    )
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
    per_call, state = fold_family(
        calls, DiffConfig(record_min_history_days=0, record_min_periods=2)
    )
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
    per_call, state = fold_family(
        calls, DiffConfig(record_min_history_days=0, record_min_periods=2)
    )
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
