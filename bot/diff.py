"""The diff engine: a pure fold from (state, accepted chart) to (events, next state).

Every accepted chart of one ChartKey is folded into a small `ChartState` that remembers the previous
chart (title → rank, title, season and the period its unbroken run in the chart began), the start of
the current #1 run, the standing records with how many periods each has been measured, and each
title's cumulative hours. `detect_chart_events` compares the new chart with that state only — never
with stored history — so the work per chart is O(entries) dict look-ups. The engine does no I/O and
reads no clock; the same inputs always give the same events in the same order and the same state,
and a state that went through `to_json` / `from_json` continues exactly like the original. The input
state is never mutated.

Rules of the fold:

- The first chart of a key is a baseline: no events, streaks start at 1, records and hours are
  tracked silently.
- A chart whose period is not after the state's last period (a re-poll, an out-of-order delivery)
  gives no events and returns the state unchanged, so replays are idempotent.
- Gap rule: when periods are missing between the last accepted chart and this one (a failed poll, a
  rejected chart), up to `DiffConfig.max_gap_periods` missing periods are *bridged*: the previous
  chart still counts as "the one before", and streaks continue, their length counting calendar
  periods from the streak's first period to this one inclusive (#1 on days 1, 2, 4 with day 3
  missing is a 4-day run). A longer gap makes this chart a new baseline for movement and streaks
  (no new/lost #1, entered, left, climbed or streak events; streaks restart at 1), while records,
  their period counts, cumulative hours and the count of periods seen carry on.
- Each record counts its own history: the periods in which its measure was present (a #1 for the
  longest #1 run, at least one entry with hours or views for the weekly hours or views record).
  A record is only announced once that count, this period included, reaches `record_min_periods`
  (so a young chart does not break a "record" every day, and Netflix's views, published from
  2023-06-18 on after years of hours, do not break one the week after they appear), and only when
  another title passes the holder; a holder extending its own record, or any change before that
  history exists, updates silently.
- All-time lists (granularity "alltime", dated snapshots with no regular step) only give
  `all_time_list` events: a title new in the list or higher than in the previous snapshot.

`detect_family_events` folds, per family (a ChartKey without its region) and period, how many
regions have each title at #1 into "#1 in N regions" threshold events and a family-level record.
That record's history is the family's periods: every period folded has regions at #1 to count.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any, NamedTuple

from bot.events import Event, EventType, Record, RecordHolder
from bot.models import ALL_REGIONS, WORLD, Chart, ChartKey, Entry, Granularity
from bot.ports import Family

# Bumped when the JSON form of a state changes incompatibly; from_json refuses other versions.
# 2: ChartState gained `record_periods`.
STATE_VERSION = 2

_EVENT_ORDER: dict[EventType, int] = {
    event_type: position
    for position, event_type in enumerate(
        (
            EventType.NEW_NUMBER_ONE,
            EventType.LOST_NUMBER_ONE,
            EventType.CLIMBED,
            EventType.ENTERED,
            EventType.LEFT,
            EventType.NUMBER_ONE_STREAK,
            EventType.TOP10_STREAK,
            EventType.ALL_TIME_LIST,
            EventType.COUNTRIES_AT_NUMBER_ONE,
            EventType.RECORD_BROKEN,
            EventType.HOURS_MILESTONE,
        )
    )
}

# Qualifier of a countries_at_number_one event fired because a title is #1 in every region.
ALL_REGIONS_QUALIFIER = "all"


@dataclass(frozen=True, slots=True)
class DiffConfig:
    """Thresholds of the engine. Threshold tuples must be positive and strictly increasing."""

    climb_places: int = 5  # places gained at once to count as `climbed`
    # Streak lengths (in periods) announced by number_one_streak / top10_streak.
    daily_milestones: tuple[int, ...] = (3, 5, 7, 10, 14, 21, 30, 50, 75, 100, 150, 200, 365)
    weekly_milestones: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 26, 52)
    countries_thresholds: tuple[int, ...] = (10, 25, 50, 75)  # regions at #1 to announce
    # Periods in which a record was measured (family: periods folded) before it is announced.
    record_min_periods: int = 8
    # Cumulative hours per title and chart announced by hours_milestone.
    hours_milestones: tuple[int, ...] = (
        100_000_000,
        250_000_000,
        500_000_000,
        1_000_000_000,
        2_000_000_000,
    )
    max_gap_periods: int = 2  # missing periods bridged before a chart becomes a new baseline

    def __post_init__(self) -> None:
        for name in (
            "daily_milestones",
            "weekly_milestones",
            "countries_thresholds",
            "hours_milestones",
        ):
            values: tuple[int, ...] = getattr(self, name)
            if any(low >= high for low, high in pairwise(values)) or any(v < 1 for v in values):
                raise ValueError(f"DiffConfig.{name} must be positive and strictly increasing")
        if self.max_gap_periods < 0:
            raise ValueError("DiffConfig.max_gap_periods must not be negative")

    def streak_milestones(self, granularity: Granularity) -> tuple[int, ...]:
        return self.weekly_milestones if granularity == "weekly" else self.daily_milestones


def period_step(granularity: Granularity) -> timedelta:
    """The distance between two consecutive periods of a chart."""
    if granularity == "daily":
        return timedelta(days=1)
    if granularity == "weekly":
        return timedelta(days=7)
    # All-time lists are dated snapshots published whenever the source updates them.
    raise ValueError(f"{granularity!r} charts have no regular period step")


class HeldEntry(NamedTuple):
    """A title as it stood in the previous accepted chart."""

    rank: int
    title: str
    season: str | None
    since: date  # first period of the title's current unbroken run in the chart


@dataclass(frozen=True, slots=True)
class RecordMark:
    """The standing value of one record and who set it."""

    title_id: str
    title: str
    season: str | None
    value: int
    period: date  # the period in which the holder last raised the value

    def holder(self) -> RecordHolder:
        return RecordHolder(self.title, self.season, self.value, self.period)

    def to_json(self) -> dict[str, Any]:
        return {
            "title_id": self.title_id,
            "title": self.title,
            "season": self.season,
            "value": self.value,
            "period": self.period.isoformat(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RecordMark:
        return cls(
            title_id=data["title_id"],
            title=data["title"],
            season=data["season"],
            value=int(data["value"]),
            period=date.fromisoformat(data["period"]),
        )


def _records_to_json(records: Mapping[Record, RecordMark]) -> dict[str, Any]:
    # Enum order, not insertion order, so equal states always serialise identically.
    return {record.value: records[record].to_json() for record in Record if record in records}


def _records_from_json(data: Mapping[str, Any]) -> dict[Record, RecordMark]:
    return {Record(name): RecordMark.from_json(mark) for name, mark in data.items()}


def _record_periods_to_json(record_periods: Mapping[Record, int]) -> dict[str, int]:
    return {record.value: record_periods[record] for record in Record if record in record_periods}


def _record_periods_from_json(data: Mapping[str, Any]) -> dict[Record, int]:
    return {Record(name): int(count) for name, count in data.items()}


def _check_version(data: Mapping[str, Any], kind: str) -> None:
    version = data.get("v")
    if version != STATE_VERSION:
        raise ValueError(f"{kind} JSON has version {version!r}, expected {STATE_VERSION}")


@dataclass(frozen=True, slots=True)
class ChartState:
    """What the engine remembers about one ChartKey after its last accepted chart.

    Treat the mappings as read-only: the engine builds a fresh state for every chart it folds.
    """

    last_period: date
    periods_seen: int  # accepted charts folded, the baseline included
    entries: Mapping[str, HeldEntry]  # title_id → its place in the last accepted chart
    number_one_since: date | None  # first period of the current #1's unbroken run at #1
    records: Mapping[Record, RecordMark]
    # record → accepted charts in which its measure was present, the baseline included.
    record_periods: Mapping[Record, int]
    cumulative_hours: Mapping[str, int]  # title_id → hours summed over every chart of the key

    def number_one_id(self) -> str | None:
        for title_id, held in self.entries.items():
            if held.rank == 1:
                return title_id
        return None

    def to_json(self) -> dict[str, Any]:
        ranked = sorted(self.entries.items(), key=lambda item: item[1].rank)
        return {
            "v": STATE_VERSION,
            "last_period": self.last_period.isoformat(),
            "periods_seen": self.periods_seen,
            "entries": [
                [title_id, held.rank, held.title, held.season, held.since.isoformat()]
                for title_id, held in ranked
            ],
            "number_one_since": (
                self.number_one_since.isoformat() if self.number_one_since else None
            ),
            "records": _records_to_json(self.records),
            "record_periods": _record_periods_to_json(self.record_periods),
            "cumulative_hours": dict(self.cumulative_hours),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChartState:
        _check_version(data, "ChartState")
        since = data["number_one_since"]
        return cls(
            last_period=date.fromisoformat(data["last_period"]),
            periods_seen=int(data["periods_seen"]),
            entries={
                title_id: HeldEntry(int(rank), title, season, date.fromisoformat(started))
                for title_id, rank, title, season, started in data["entries"]
            },
            number_one_since=date.fromisoformat(since) if since else None,
            records=_records_from_json(data["records"]),
            record_periods=_record_periods_from_json(data["record_periods"]),
            cumulative_hours={
                title_id: int(hours) for title_id, hours in data["cumulative_hours"].items()
            },
        )


def detect_chart_events(
    state: ChartState | None, chart: Chart, config: DiffConfig
) -> tuple[list[Event], ChartState]:
    """Fold one accepted chart into the state of its key: the events it causes and the new state."""
    if state is not None and chart.period <= state.last_period:
        return [], state
    if chart.key.granularity == "alltime":
        events, new_state = _fold_all_time(state, chart)
    else:
        events, new_state = _fold_periodic(state, chart, config)
    events.sort(key=_event_sort_key)
    return events, new_state


def _event_sort_key(event: Event) -> tuple[int, bool, int, str, str]:
    rank = event.rank
    return (
        _EVENT_ORDER[event.type],
        rank is None,
        rank if rank is not None else 0,
        event.title_id,
        event.qualifier,
    )


def _event(
    event_type: EventType,
    chart: Chart,
    title_id: str,
    title: str,
    season: str | None,
    **details: Any,
) -> Event:
    return Event(
        type=event_type,
        chart=chart.key,
        period=chart.period,
        title_id=title_id,
        title=title,
        season=season,
        **details,
    )


def _highest_crossed(thresholds: tuple[int, ...], before: int, after: int) -> int | None:
    """The highest threshold t with before < t <= after, if any (thresholds sorted ascending)."""
    # Called for every entry of every chart: bisect instead of scanning the whole tuple.
    below_or_at = bisect_right(thresholds, after)
    if below_or_at and thresholds[below_or_at - 1] > before:
        return thresholds[below_or_at - 1]
    return None


def _challenge(
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


def _fold_periodic(
    state: ChartState | None, chart: Chart, config: DiffConfig
) -> tuple[list[Event], ChartState]:
    period = chart.period
    granularity = chart.key.granularity
    step_days = period_step(granularity).days
    unit = "weeks" if granularity == "weekly" else "days"

    first_chart = state is None
    if state is None:
        continuing = False
        previous: Mapping[str, HeldEntry] = {}
        periods_seen = 1
    else:
        missing = (period - state.last_period).days // step_days - 1
        continuing = missing <= config.max_gap_periods
        previous = state.entries if continuing else {}
        periods_seen = state.periods_seen + 1

    def length(since: date, until: date) -> int:
        return (until - since).days // step_days + 1

    events: list[Event] = []
    entries: dict[str, HeldEntry] = {}
    for entry in chart.entries:
        held = previous.get(entry.title_id)
        since = held.since if held is not None else period
        entries[entry.title_id] = HeldEntry(entry.rank, entry.title, entry.season, since)

    number_one = chart.number_one()
    number_one_since: date | None = None
    if number_one is not None:
        number_one_since = period
        if state is not None and continuing and state.number_one_id() == number_one.title_id:
            number_one_since = state.number_one_since or period

    if state is not None and continuing:
        events.extend(_movement_events(state, chart, number_one, config))
        milestones = config.streak_milestones(granularity)
        last = state.last_period
        if number_one is not None and number_one_since is not None:
            run_before = length(number_one_since, last) if number_one_since <= last else 0
            run_now = length(number_one_since, period)
            reached = _highest_crossed(milestones, run_before, run_now)
            if reached is not None:
                events.append(
                    _event(
                        EventType.NUMBER_ONE_STREAK,
                        chart,
                        number_one.title_id,
                        number_one.title,
                        number_one.season,
                        rank=1,
                        value=run_now,
                        unit=unit,
                        qualifier=str(reached),
                    )
                )
        for entry in chart.entries:
            since = entries[entry.title_id].since
            streak_before = length(since, last) if since <= last else 0
            streak_now = length(since, period)
            reached = _highest_crossed(milestones, streak_before, streak_now)
            if reached is not None:
                events.append(
                    _event(
                        EventType.TOP10_STREAK,
                        chart,
                        entry.title_id,
                        entry.title,
                        entry.season,
                        rank=entry.rank,
                        value=streak_now,
                        unit=unit,
                        qualifier=str(reached),
                    )
                )

    # (record, the title challenging it, its mark, the event's unit) for each record measured here.
    challengers: list[tuple[Record, Entry, RecordMark, str]] = []
    if number_one is not None and number_one_since is not None:
        run = RecordMark(
            number_one.title_id,
            number_one.title,
            number_one.season,
            length(number_one_since, period),
            period,
        )
        challengers.append((Record.LONGEST_NUMBER_ONE_RUN, number_one, run, unit))
    for record, value_of, value_unit in (
        (Record.MOST_WEEKLY_HOURS, _hours_of, "hours"),
        (Record.MOST_WEEKLY_VIEWS, _views_of, "views"),
    ):
        best: Entry | None = None
        best_value = 0
        for entry in chart.entries:
            value = value_of(entry)
            if value is not None and (best is None or value > best_value):
                best, best_value = entry, value
        if best is not None:
            mark = RecordMark(best.title_id, best.title, best.season, best_value, period)
            challengers.append((record, best, mark, value_unit))

    records = dict(state.records) if state is not None else {}
    record_periods = dict(state.record_periods) if state is not None else {}
    for record, challenger, mark, value_unit in challengers:
        # Counted per record: a measure a source starts publishing late (Netflix's views) needs
        # its own history before it can hold a record worth announcing.
        record_periods[record] = record_periods.get(record, 0) + 1
        announce = record_periods[record] >= config.record_min_periods
        passed = _challenge(records, record, mark, announce)
        if passed is not None:
            events.append(_record_event(chart, record, challenger, mark, value_unit, passed))

    # States never change once built, so a chart without hours can share its predecessor's totals
    # instead of copying a map that grows with every title the chart ever had.
    cumulative_hours: Mapping[str, int] = state.cumulative_hours if state is not None else {}
    with_hours = [(entry, entry.hours) for entry in chart.entries if entry.hours is not None]
    if with_hours:
        totals = dict(cumulative_hours)
        for entry, hours in with_hours:
            before = totals.get(entry.title_id, 0)
            after = before + hours
            totals[entry.title_id] = after
            if first_chart:
                continue
            reached = _highest_crossed(config.hours_milestones, before, after)
            if reached is not None:
                events.append(
                    _event(
                        EventType.HOURS_MILESTONE,
                        chart,
                        entry.title_id,
                        entry.title,
                        entry.season,
                        rank=entry.rank,
                        value=after,
                        unit="hours",
                        qualifier=str(reached),
                    )
                )
        cumulative_hours = totals

    new_state = ChartState(
        last_period=period,
        periods_seen=periods_seen,
        entries=entries,
        number_one_since=number_one_since,
        records=records,
        record_periods=record_periods,
        cumulative_hours=cumulative_hours,
    )
    return events, new_state


def _hours_of(entry: Entry) -> int | None:
    return entry.hours


def _views_of(entry: Entry) -> int | None:
    return entry.views


def _record_event(
    chart: Chart, record: Record, entry: Entry, mark: RecordMark, unit: str, passed: RecordHolder
) -> Event:
    return _event(
        EventType.RECORD_BROKEN,
        chart,
        entry.title_id,
        entry.title,
        entry.season,
        rank=entry.rank,
        value=mark.value,
        unit=unit,
        record=record,
        previous=passed,
        # One title may break several records in one period; the qualifier keeps the keys apart.
        qualifier=record.value,
    )


def _movement_events(
    state: ChartState, chart: Chart, number_one: Entry | None, config: DiffConfig
) -> list[Event]:
    previous = state.entries
    events: list[Event] = []
    previous_number_one = state.number_one_id()
    new_number_one_id = number_one.title_id if number_one is not None else None

    if number_one is not None and new_number_one_id != previous_number_one:
        held = previous.get(number_one.title_id)
        events.append(
            _event(
                EventType.NEW_NUMBER_ONE,
                chart,
                number_one.title_id,
                number_one.title,
                number_one.season,
                rank=1,
                previous_rank=held.rank if held is not None else None,
            )
        )
    current: dict[str, Entry] = {entry.title_id: entry for entry in chart.entries}
    if previous_number_one is not None and previous_number_one != new_number_one_id:
        old = previous[previous_number_one]
        now = current.get(previous_number_one)
        events.append(
            _event(
                EventType.LOST_NUMBER_ONE,
                chart,
                previous_number_one,
                now.title if now is not None else old.title,
                now.season if now is not None else old.season,
                rank=now.rank if now is not None else None,
                previous_rank=1,
            )
        )

    for entry in chart.entries:
        held = previous.get(entry.title_id)
        if held is None:
            # A debut at #1 is told by new_number_one alone.
            if entry.rank != 1:
                events.append(
                    _event(
                        EventType.ENTERED,
                        chart,
                        entry.title_id,
                        entry.title,
                        entry.season,
                        rank=entry.rank,
                        previous_rank=None,
                    )
                )
        elif entry.rank != 1 and held.rank - entry.rank >= config.climb_places:
            events.append(
                _event(
                    EventType.CLIMBED,
                    chart,
                    entry.title_id,
                    entry.title,
                    entry.season,
                    rank=entry.rank,
                    previous_rank=held.rank,
                )
            )
    for title_id, held in previous.items():
        if title_id not in current:
            events.append(
                _event(
                    EventType.LEFT,
                    chart,
                    title_id,
                    held.title,
                    held.season,
                    rank=None,
                    previous_rank=held.rank,
                )
            )
    return events


def _fold_all_time(state: ChartState | None, chart: Chart) -> tuple[list[Event], ChartState]:
    """All-time lists only say which titles joined the list or moved up in it."""
    period = chart.period
    previous: Mapping[str, HeldEntry] = state.entries if state is not None else {}
    events: list[Event] = []
    entries: dict[str, HeldEntry] = {}
    for entry in chart.entries:
        held = previous.get(entry.title_id)
        entries[entry.title_id] = HeldEntry(
            entry.rank, entry.title, entry.season, held.since if held is not None else period
        )
        if state is None or (held is not None and entry.rank >= held.rank):
            continue
        if entry.views is not None:
            value, unit = entry.views, "views"
        elif entry.hours is not None:
            value, unit = entry.hours, "hours"
        else:
            value, unit = None, None
        events.append(
            _event(
                EventType.ALL_TIME_LIST,
                chart,
                entry.title_id,
                entry.title,
                entry.season,
                rank=entry.rank,
                previous_rank=held.rank if held is not None else None,
                value=value,
                unit=unit,
            )
        )
    new_state = ChartState(
        last_period=period,
        periods_seen=state.periods_seen + 1 if state is not None else 1,
        entries=entries,
        number_one_since=None,
        records={},
        record_periods={},
        cumulative_hours={},
    )
    return events, new_state


class FamilyNotice(NamedTuple):
    """What was already announced for one title in the family's current period."""

    highest: int  # the highest threshold value announced ("all" counts as the region total)
    all_regions: bool  # whether the "#1 in every region" event was announced


@dataclass(frozen=True, slots=True)
class FamilyState:
    """What the engine remembers about one chart family (all regions of one chart)."""

    period: date  # the newest period folded
    periods_seen: int  # distinct periods folded, the baseline included
    # title_id → regions at #1 in the period before `period`; None while `period` is the baseline.
    previous_counts: Mapping[str, int] | None
    counts: Mapping[str, int]  # title_id → regions at #1 in `period`, as last folded
    announced: Mapping[str, FamilyNotice]  # countries events already fired for `period`
    record: RecordMark | None  # MOST_REGIONS_AT_NUMBER_ONE

    def to_json(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "period": self.period.isoformat(),
            "periods_seen": self.periods_seen,
            "previous_counts": (
                dict(self.previous_counts) if self.previous_counts is not None else None
            ),
            "counts": dict(self.counts),
            "announced": {
                title_id: [notice.highest, notice.all_regions]
                for title_id, notice in self.announced.items()
            },
            "record": self.record.to_json() if self.record is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FamilyState:
        _check_version(data, "FamilyState")
        previous = data["previous_counts"]
        record = data["record"]
        return cls(
            period=date.fromisoformat(data["period"]),
            periods_seen=int(data["periods_seen"]),
            previous_counts=(
                {title_id: int(n) for title_id, n in previous.items()}
                if previous is not None
                else None
            ),
            counts={title_id: int(n) for title_id, n in data["counts"].items()},
            announced={
                title_id: FamilyNotice(int(highest), bool(all_regions))
                for title_id, (highest, all_regions) in data["announced"].items()
            },
            record=RecordMark.from_json(record) if record is not None else None,
        )


def detect_family_events(
    state: FamilyState | None,
    family: Family,
    period: date,
    charts: Sequence[Chart],
    config: DiffConfig,
) -> tuple[list[Event], FamilyState]:
    """Fold every accepted regional chart of one family and period into "#1 in N regions" events.

    May be called again for the same period as more regions arrive: the counts are compared with
    the same previous period, and thresholds already announced for the period are not repeated.
    """
    if state is not None and period < state.period:
        return [], state

    # Regions in code order, so the display title of a title comes from the same region every time.
    number_ones: dict[str, Entry | None] = {}
    for chart in sorted(charts, key=lambda c: c.key.region):
        if chart.key.region != WORLD:
            number_ones.setdefault(chart.key.region, chart.number_one())
    total_regions = len(number_ones)
    counts: dict[str, int] = {}
    shown: dict[str, Entry] = {}
    for entry in number_ones.values():
        if entry is not None:
            counts[entry.title_id] = counts.get(entry.title_id, 0) + 1
            shown.setdefault(entry.title_id, entry)

    if state is None:
        previous_counts: Mapping[str, int] | None = None
        periods_seen = 1
        announced: dict[str, FamilyNotice] = {}
        record = None
    elif period > state.period:
        previous_counts = state.counts
        periods_seen = state.periods_seen + 1
        announced = {}
        record = state.record
    else:
        previous_counts = state.previous_counts
        periods_seen = state.periods_seen
        announced = dict(state.announced)
        record = state.record

    source, service, category, granularity = family
    key = ChartKey(source, service, ALL_REGIONS, category, granularity)

    def family_event(entry: Entry, **details: Any) -> Event:
        return Event(
            chart=key,
            period=period,
            title_id=entry.title_id,
            title=entry.title,
            season=entry.season,
            rank=1,
            value=counts[entry.title_id],
            unit="regions",
            total_regions=total_regions,
            **details,
        )

    events: list[Event] = []
    if previous_counts is not None:
        all_counts = bool(config.countries_thresholds) and total_regions >= min(
            config.countries_thresholds
        )
        for title_id, count in counts.items():
            before = previous_counts.get(title_id, 0)
            notice = announced.get(title_id, FamilyNotice(0, False))
            # (value, prefers "all" on a tie, qualifier): the best unannounced threshold crossed.
            candidates = [
                (t, False, str(t))
                for t in config.countries_thresholds
                if before < t <= count and t > notice.highest
            ]
            if (
                all_counts
                and count == total_regions
                and before < total_regions
                and total_regions > notice.highest
                and not notice.all_regions
            ):
                candidates.append((total_regions, True, ALL_REGIONS_QUALIFIER))
            if not candidates:
                continue
            reached, is_all, qualifier = max(candidates)
            announced[title_id] = FamilyNotice(reached, notice.all_regions or is_all)
            events.append(
                family_event(
                    shown[title_id],
                    type=EventType.COUNTRIES_AT_NUMBER_ONE,
                    qualifier=qualifier,
                )
            )

    if counts:
        leader_id = min(counts, key=lambda title_id: (-counts[title_id], title_id))
        leader = shown[leader_id]
        mark = RecordMark(leader_id, leader.title, leader.season, counts[leader_id], period)
        records = {Record.MOST_REGIONS_AT_NUMBER_ONE: record} if record is not None else {}
        announce = previous_counts is not None and periods_seen >= config.record_min_periods
        passed = _challenge(records, Record.MOST_REGIONS_AT_NUMBER_ONE, mark, announce)
        record = records[Record.MOST_REGIONS_AT_NUMBER_ONE]
        if passed is not None:
            events.append(
                family_event(
                    leader,
                    type=EventType.RECORD_BROKEN,
                    record=Record.MOST_REGIONS_AT_NUMBER_ONE,
                    previous=passed,
                    qualifier=Record.MOST_REGIONS_AT_NUMBER_ONE.value,
                )
            )

    events.sort(key=_event_sort_key)
    new_state = FamilyState(
        period=period,
        periods_seen=periods_seen,
        previous_counts=previous_counts,
        counts=counts,
        announced=announced,
        record=record,
    )
    return events, new_state
