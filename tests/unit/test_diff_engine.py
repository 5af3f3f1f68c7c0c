"""The diff engine as a whole (bot/diff/chart.py, config.py, state.py, order.py): its config,
baselines and re-polls, all-time lists, the order of events and the state's JSON."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest

from bot.diff import (
    ChartState,
    DiffConfig,
    detect_chart_events,
    period_step,
)
from bot.events import Record
from tests.diff_charts import (
    ALLTIME,
    TEN,
    E,
    brief,
    day,
    fold,
    make_chart,
    run_orders,
    streak_length,
)

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
    eager = DiffConfig(
        daily_milestones=(1,),
        record_min_history_days=0,
        record_min_periods=1,
        hours_milestones=(1,),
    )
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
    per_chart, state = fold(
        [first, second], DiffConfig(record_min_history_days=0, record_min_periods=1)
    )
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
    config = DiffConfig(
        climb_places=2,
        record_min_history_days=0,
        record_min_periods=1,
        hours_milestones=(100,),
    )
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
    _, state = fold(charts, DiffConfig(record_min_history_days=0, record_min_periods=1))
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
