"""Record rules (bot/diff/records.py) and hours milestones (bot/diff/hours.py)."""

from __future__ import annotations

import pytest

from bot.diff import DiffConfig
from bot.events import Event, Record, RecordHolder
from bot.models import Chart, Entry
from tests.diff_charts import (
    TEN,
    WEEKLY,
    E,
    day,
    fold,
    make_chart,
    of_type,
    run_orders,
    week,
)

# --- records --------------------------------------------------------------------------------------


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
    per_chart, state = fold(
        run_orders(("a", 3), ("b", 5)),
        DiffConfig(record_min_history_days=0, record_min_periods=1),
    )
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
    per_chart, _ = fold(
        run_orders(("a", 3), ("b", 4), ("c", 5)), DiffConfig(record_min_history_days=0)
    )

    assert records_of(per_chart) == [(12, "c", 5, "longest_number_one_run")]
    [record] = of_type(per_chart[11], E.RECORD_BROKEN)
    assert record.previous == RecordHolder("Title B", None, 4, day(7))


def test_title_beating_its_own_record_updates_it_silently() -> None:
    per_chart, state = fold(
        run_orders(("a", 3), ("b", 1), ("a", 5)),
        DiffConfig(record_min_history_days=0, record_min_periods=1),
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
    config = DiffConfig(record_min_history_days=0, record_min_periods=1, hours_milestones=())
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


def test_records_need_a_year_of_history_and_say_since_when() -> None:
    # A new leader with more hours every week: a record each week once the chart is a year old.
    per_chart, _ = fold(rising_weeks(60, set()), DiffConfig(hours_milestones=()))

    hours_records = records_of(per_chart, Record.MOST_WEEKLY_HOURS)
    # Week 53 ends 364 days after week 1; week 54 is the first a year (365 days) later.
    assert [n for n, *_ in hours_records] == list(range(54, 61))
    [first, *_] = [e for events in per_chart for e in of_type(events, E.RECORD_BROKEN)]
    assert first.since == week(1)
    assert Event.from_json(first.to_json()).since == week(1)


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
    per_chart, state = fold(
        rising_weeks(20, views_weeks),
        DiffConfig(record_min_history_days=0, hours_milestones=()),
    )
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
    per_chart, _ = fold(
        rising_weeks(18, set(range(11, 19))),
        DiffConfig(record_min_history_days=0, hours_milestones=()),
    )

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
    per_chart, _ = fold(charts, DiffConfig(record_min_history_days=0, record_min_periods=1))

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
