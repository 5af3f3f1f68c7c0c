"""Record rules: the longest #1 run and the most weekly hours and views of one chart.

Each record counts its own history: the charts in which its measure was present. It is only
announced once that count, this chart included, reaches `record_min_periods`, once the chart's
first period lies at least `record_min_history_days` (a year) back, and only when
another title passes the holder; a holder extending its own record, or any change before that
history exists, updates silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import NamedTuple

from bot.diff.order import event_order
from bot.diff.state import RecordMark
from bot.diff.step import ChartStep
from bot.events import Event, EventType, Record, RecordHolder
from bot.models import Entry


class Challenge(NamedTuple):
    """A chart's best title for one record, and the unit of its value."""

    record: Record
    entry: Entry
    value: int
    unit: str


class RecordsAfter(NamedTuple):
    """A chart's record_broken events and the records as the next state holds them."""

    events: list[Event]
    records: Mapping[Record, RecordMark]
    record_periods: Mapping[Record, int]


def challenge(
    records: dict[Record, RecordMark], record: Record, challenger: RecordMark, announce: bool
) -> RecordHolder | None:
    """Update `records` if the challenger beats the standing value.

    Returns the holder that was passed when that deserves an event: a record existed, another title
    held it, and `announce` says the record has enough history to be announced.
    """
    standing = records.get(record)
    if standing is not None and challenger.value <= standing.value:
        return None
    records[record] = challenger
    if standing is None or standing.title_id == challenger.title_id or not announce:
        return None
    return standing.holder()


def challenges(step: ChartStep, number_one_since: date | None) -> list[Challenge]:
    """The chart's challenger of each record it measures (the first title of the best value)."""
    found: list[Challenge] = []
    if step.number_one is not None and number_one_since is not None:
        run = step.periods_since(number_one_since)
        found.append(Challenge(Record.LONGEST_NUMBER_ONE_RUN, step.number_one, run, step.unit))
    with_hours = [entry for entry in step.chart.entries if entry.hours is not None]
    if with_hours:
        most = max(with_hours, key=lambda entry: entry.hours or 0)
        found.append(Challenge(Record.MOST_WEEKLY_HOURS, most, most.hours or 0, "hours"))
    with_views = [entry for entry in step.chart.entries if entry.views is not None]
    if with_views:
        most = max(with_views, key=lambda entry: entry.views or 0)
        found.append(Challenge(Record.MOST_WEEKLY_VIEWS, most, most.views or 0, "views"))
    return found


def chart_records(step: ChartStep, number_one_since: date | None) -> RecordsAfter:
    """Fold the chart's challengers into the key's records (kept across gaps)."""
    state = step.state
    records = dict(state.records) if state is not None else {}
    record_periods = dict(state.record_periods) if state is not None else {}
    first_period = state.first_period if state is not None else step.period
    old_enough = step.period - first_period >= step.config.record_min_history
    broken: list[Event] = []
    for record, entry, value, unit in challenges(step, number_one_since):
        record_periods[record] = record_periods.get(record, 0) + 1
        announce = old_enough and record_periods[record] >= step.config.record_min_periods
        mark = RecordMark(entry.title_id, entry.title, entry.season, value, step.period)
        passed = challenge(records, record, mark, announce)
        if passed is not None:
            broken.append(
                step.entry_event(
                    EventType.RECORD_BROKEN,
                    entry,
                    rank=entry.rank,
                    value=value,
                    unit=unit,
                    record=record,
                    previous=passed,
                    # One title may break several records in one period: the qualifier keeps
                    # their keys apart.
                    qualifier=record.value,
                    since=first_period,
                )
            )
    broken.sort(key=event_order)
    return RecordsAfter(broken, records, record_periods)
