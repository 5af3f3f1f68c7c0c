"""Streak rules and the gap rule (bot/diff/streaks.py)."""

from __future__ import annotations

from bot.diff import DiffConfig
from bot.events import Record, RecordHolder
from tests.diff_charts import (
    TEN,
    WEEKLY,
    E,
    brief,
    day,
    fold,
    make_chart,
    of_type,
    streak_length,
    week,
)

# --- streaks, milestones and the gap rule ---------------------------------------------------------


def test_daily_streak_milestones_fire_once_each_on_the_day_they_are_reached() -> None:
    per_chart, _ = fold([make_chart(day(n)) for n in range(1, 8)])

    number_one = [
        (i + 1, e.value, e.qualifier)
        for i, events in enumerate(per_chart)
        for e in of_type(events, E.NUMBER_ONE_STREAK)
    ]
    assert number_one == [(3, 3, "3"), (5, 5, "5"), (7, 7, "7")]
    # The #1's Top-10 run is as long as its run at #1: told once, by the #1 streak.
    day_three_top10 = of_type(per_chart[2], E.TOP10_STREAK)
    assert [(e.title_id, e.rank, e.value, e.unit, e.qualifier) for e in day_three_top10] == [
        (title_id, rank, 3, "days", "3") for rank, title_id in enumerate(TEN, start=1) if rank > 1
    ]
    assert of_type(per_chart[2], E.NUMBER_ONE_STREAK)[0].unit == "days"
    assert per_chart[2][0].key.endswith(":a:3")


def test_streak_of_a_new_title_starts_at_its_entry() -> None:
    charts = [make_chart(day(1)), make_chart(day(2), tuple("abcdefghik"))]
    charts += [make_chart(day(n), tuple("abcdefghik")) for n in (3, 4)]
    per_chart, state = fold(charts)
    assert state is not None

    assert [e.title_id for e in of_type(per_chart[2], E.TOP10_STREAK)] == list("bcdefghi")
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
        (title_id, 4) for title_id in "bcdefghi"
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
    config = DiffConfig(record_min_history_days=0, record_min_periods=3, hours_milestones=(100,))
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


def test_a_top10_streak_longer_than_the_run_at_number_one_is_still_told() -> None:
    # "b" is in the chart from day 1 and #1 from day 2: on day 3 it has 3 days in the Top 10
    # (a milestone) but only 2 at #1, so the Top-10 streak is not the same line.
    charts = [make_chart(day(1)), *(make_chart(day(n), tuple("bacdefghij")) for n in (2, 3))]
    per_chart, _ = fold(charts)
    assert of_type(per_chart[2], E.NUMBER_ONE_STREAK) == []
    assert "b" in [e.title_id for e in of_type(per_chart[2], E.TOP10_STREAK)]
