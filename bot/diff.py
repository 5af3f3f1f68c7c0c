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
from functools import lru_cache
from itertools import pairwise
from operator import attrgetter, itemgetter
from typing import Any, Final, NamedTuple

from bot.events import Event, EventType, Record, RecordHolder
from bot.models import ALL_REGIONS, WORLD, Chart, ChartKey, Entry, Granularity
from bot.ports import Family

# Bumped when the JSON form of a state changes incompatibly; from_json refuses other versions.
# 2: ChartState gained `record_periods`.
STATE_VERSION = 2

_EVENT_ORDER: Final[dict[EventType, int]] = {
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

# Event types read in the diff's hot loops. Python 3.11's EnumType defines __getattr__, which makes
# every `EventType.X` lookup go through a slow hook; a module constant is a plain global read, and
# compiled (setup.py) a Final one is a C variable instead of a look-up in the module's dict.
_ENTERED: Final = EventType.ENTERED
_CLIMBED: Final = EventType.CLIMBED
_LEFT: Final = EventType.LEFT
_TOP10_STREAK: Final = EventType.TOP10_STREAK
_HOURS_MILESTONE: Final = EventType.HOURS_MILESTONE

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


# period_step in days, read once per chart folded (period_step builds a timedelta per call).
_STEP_DAYS: Final[dict[str, int]] = {
    granularity: period_step(granularity).days for granularity in ("daily", "weekly")
}


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
            "period": _isoformat(self.period),
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


# Record members with their JSON names, in enum order (iterating an enum and .value are slow).
_RECORD_NAMES: Final[tuple[tuple[Record, str], ...]] = tuple(
    (record, record.value) for record in Record
)


@lru_cache(maxsize=4096)
def _isoformat(day: date) -> str:
    # State JSON repeats the same few dates (periods, run starts) in every state it saves, and
    # date.isoformat is slow enough to matter there.
    return day.isoformat()


# Final: compiled, C variables read instead of looking `__new__` up on tuple and HeldEntry up in the
# module's dict for every entry.
_new_tuple: Final = tuple.__new__
_HELD_ENTRY: Final = HeldEntry

_row_rank: Final = itemgetter(1)  # the rank of a row of ChartState.to_json()["entries"]
_title_id_of: Final = attrgetter("title_id")


def _records_to_json(records: Mapping[Record, RecordMark]) -> dict[str, Any]:
    # Enum order, not insertion order, so equal states always serialise identically.
    return {name: records[record].to_json() for record, name in _RECORD_NAMES if record in records}


def _records_from_json(data: Mapping[str, Any]) -> dict[Record, RecordMark]:
    return {Record(name): RecordMark.from_json(mark) for name, mark in data.items()}


def _record_periods_to_json(record_periods: Mapping[Record, int]) -> dict[str, int]:
    return {
        name: record_periods[record] for record, name in _RECORD_NAMES if record in record_periods
    }


def _record_periods_from_json(data: Mapping[str, Any]) -> dict[Record, int]:
    return {Record(name): int(count) for name, count in data.items()}


def _check_version(data: Mapping[str, Any], kind: str) -> None:
    version = data.get("v")
    if version != STATE_VERSION:
        raise ValueError(f"{kind} JSON has version {version!r}, expected {STATE_VERSION}")


@dataclass(slots=True)
class ChartState:
    """What the engine remembers about one ChartKey after its last accepted chart.

    Immutable by contract, like Event: the engine builds a fresh state for every chart it folds
    and never changes one (nor the mappings it holds). Not a frozen dataclass because its
    generated __init__ sets each field through `object.__setattr__`, as interpreted code even
    where mypyc compiles this module (setup.py), once per chart folded.
    """

    last_period: date
    periods_seen: int  # accepted charts folded, the baseline included
    # title_id → its place in the last accepted chart. A dict (read-only by contract, like every
    # mapping here): compiled, a dict's get is a C call, a Mapping's a method looked up by name.
    entries: dict[str, HeldEntry]
    number_one_since: date | None  # first period of the current #1's unbroken run at #1
    records: Mapping[Record, RecordMark]
    # record → accepted charts in which its measure was present, the baseline included.
    record_periods: Mapping[Record, int]
    cumulative_hours: Mapping[str, int]  # title_id → hours summed over every chart of the key

    def __init__(
        self,
        last_period: date,
        periods_seen: int,
        entries: dict[str, HeldEntry],
        number_one_since: date | None,
        records: Mapping[Record, RecordMark],
        record_periods: Mapping[Record, int],
        cumulative_hours: Mapping[str, int],
    ) -> None:
        self.last_period = last_period
        self.periods_seen = periods_seen
        self.entries = entries
        self.number_one_since = number_one_since
        self.records = records
        self.record_periods = record_periods
        self.cumulative_hours = cumulative_hours

    def number_one_id(self) -> str | None:
        for title_id, held in self.entries.items():
            if held.rank == 1:
                return title_id
        return None

    def to_json(self) -> dict[str, Any]:
        iso = _isoformat
        rows = [
            [title_id, rank, title, season, iso(since)]
            for title_id, (rank, title, season, since) in self.entries.items()
        ]
        rows.sort(key=_row_rank)  # stable: titles of one rank stay in entry order
        return {
            "v": STATE_VERSION,
            "last_period": iso(self.last_period),
            "periods_seen": self.periods_seen,
            "entries": rows,
            "number_one_since": iso(self.number_one_since) if self.number_one_since else None,
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
        events.sort(key=_event_sort_key)
        return events, new_state
    # Sorts its events itself: they mostly come out in order already.
    return _fold_periodic(state, chart, config)


def _event_sort_key(event: Event) -> tuple[int, bool, int, str, str]:
    rank = event.rank
    return (
        _EVENT_ORDER[event.type],
        rank is None,
        rank if rank is not None else 0,
        event.title_id,
        event.qualifier,
    )


@lru_cache(maxsize=16)
def _as_set(milestones: tuple[int, ...]) -> frozenset[int]:
    return frozenset(milestones)


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
    # Hot path of a replay (every chart, ~15 events each): one pass over the entries does the new
    # state, movement, streaks, hours and the record candidates; names used per entry are locals.
    key = chart.key
    period = chart.period
    granularity = key.granularity
    step_days = _STEP_DAYS.get(granularity) or period_step(granularity).days
    unit = "weeks" if granularity == "weekly" else "days"

    # The state of the chart "before" this one: None for a baseline (first chart, or a gap
    # longer than max_gap_periods), which gives no movement or streak events.
    before: ChartState | None = None
    previous: dict[str, HeldEntry] = {}
    if state is None:
        periods_seen = 1
    else:
        periods_seen = state.periods_seen + 1
        missing = (period - state.last_period).days // step_days - 1
        if missing <= config.max_gap_periods:
            before = state
            previous = state.entries

    # Events of each type in entry order, joined in _EVENT_ORDER below. Entries normally come in
    # rank order (ranks strictly increasing), and then each list is sorted already.
    in_rank_order = True
    rank_seen = 0
    climbed: list[Event] = []
    entered: list[Event] = []
    top10_streaks: list[Event] = []
    hours_milestones: list[Event] = []
    entries: dict[str, HeldEntry] = {}
    number_one: Entry | None = None
    # The first entry with the most hours / views: the challengers of the weekly records.
    most_hours: Entry | None = None
    most_hours_value = 0
    most_views: Entry | None = None
    most_views_value = 0
    cumulative_hours: Mapping[str, int] = state.cumulative_hours if state is not None else {}
    # Copied on the first entry with hours: states never change once built, so a chart without
    # hours shares its predecessor's totals instead of copying a map of every title ever charted.
    totals: dict[str, int] | None = None

    milestones = config.streak_milestones(granularity)
    milestone_set = _as_set(milestones)
    climb_places = config.climb_places
    # Streak lengths count periods from the run's first one; counting days from the last period
    # takes one date subtraction per title instead of two.
    last = before.last_period if before is not None else period
    days_since_last = (period - last).days
    new_title_reached = _highest_crossed(milestones, 0, 1)  # a title new in the chart: 1 period
    announce_hours = state is not None  # no hours milestone on the baseline chart
    for entry in chart.entries:
        title_id = entry.title_id
        rank = entry.rank
        if rank <= rank_seen:
            in_rank_order = False
        rank_seen = rank
        held = previous.get(title_id)
        since = period if held is None else held.since
        # tuple.__new__ skips NamedTuple's Python-level __new__ (same fields, same order).
        entries[title_id] = _new_tuple(_HELD_ENTRY, (rank, entry.title, entry.season, since))
        if rank == 1 and number_one is None:
            number_one = entry
        if before is not None:
            # The most frequent events are made with positional arguments: a class call with
            # keywords costs a third more. Order: rank, previous_rank, value, unit,
            # total_regions, record, previous, qualifier.
            if held is None:
                # A debut at #1 is told by new_number_one alone.
                if rank != 1:
                    entered.append(
                        Event(_ENTERED, key, period, title_id, entry.title, entry.season, rank)
                    )
                streak_now = 1
                reached = new_title_reached
            else:
                if rank != 1 and held.rank - rank >= climb_places:
                    climbed.append(
                        Event(
                            _CLIMBED,
                            key,
                            period,
                            title_id,
                            entry.title,
                            entry.season,
                            rank=rank,
                            previous_rank=held.rank,
                        )
                    )
                held_days = (last - since).days
                streak_before = held_days // step_days + 1 if held_days >= 0 else 0
                streak_now = (held_days + days_since_last) // step_days + 1
                if streak_now == streak_before + 1:  # the usual step: one milestone to check
                    reached = streak_now if streak_now in milestone_set else None
                else:
                    reached = _highest_crossed(milestones, streak_before, streak_now)
            if reached is not None:
                top10_streaks.append(
                    Event(
                        _TOP10_STREAK,
                        key,
                        period,
                        title_id,
                        entry.title,
                        entry.season,
                        rank,
                        None,
                        streak_now,  # value
                        unit,
                        None,
                        None,
                        None,
                        str(reached),  # qualifier
                    )
                )
        hours = entry.hours
        if hours is not None:
            if most_hours is None or hours > most_hours_value:
                most_hours, most_hours_value = entry, hours
            if totals is None:
                totals = dict(cumulative_hours)
            hours_before = totals.get(title_id, 0)
            hours_after = totals[title_id] = hours_before + hours
            if announce_hours:
                hours_reached = _highest_crossed(config.hours_milestones, hours_before, hours_after)
                if hours_reached is not None:
                    hours_milestones.append(
                        Event(
                            _HOURS_MILESTONE,
                            key,
                            period,
                            title_id,
                            entry.title,
                            entry.season,
                            rank=rank,
                            value=hours_after,
                            unit="hours",
                            qualifier=str(hours_reached),
                        )
                    )
        views = entry.views
        if views is not None and (most_views is None or views > most_views_value):
            most_views, most_views_value = entry, views

    events: list[Event] = []
    number_one_since: date | None = None
    if before is None:
        if number_one is not None:
            number_one_since = period
    else:
        previous_number_one = before.number_one_id()
        if number_one is not None:
            number_one_since = period
            if number_one.title_id == previous_number_one:
                number_one_since = before.number_one_since or period
            else:
                held = previous.get(number_one.title_id)
                events.append(
                    Event(
                        EventType.NEW_NUMBER_ONE,
                        key,
                        period,
                        number_one.title_id,
                        number_one.title,
                        number_one.season,
                        rank=1,
                        previous_rank=held.rank if held is not None else None,
                    )
                )
        if previous_number_one is not None and (
            number_one is None or number_one.title_id != previous_number_one
        ):
            old = previous[previous_number_one]
            now = entries.get(previous_number_one)
            events.append(
                Event(
                    EventType.LOST_NUMBER_ONE,
                    key,
                    period,
                    previous_number_one,
                    now.title if now is not None else old.title,
                    now.season if now is not None else old.season,
                    rank=now.rank if now is not None else None,
                    previous_rank=1,
                )
            )
        events += climbed
        events += entered
        left: list[Event] = []
        for title_id, held in previous.items():
            if title_id not in entries:
                left.append(
                    Event(_LEFT, key, period, title_id, held.title, held.season, None, held.rank)
                )
        # Titles that left have no rank: sorted by title_id.
        left.sort(key=_title_id_of)
        events += left
        if number_one is not None and number_one_since is not None:
            run_before = (
                (last - number_one_since).days // step_days + 1 if number_one_since <= last else 0
            )
            run_now = (period - number_one_since).days // step_days + 1
            reached = _highest_crossed(milestones, run_before, run_now)
            if reached is not None:
                events.append(
                    Event(
                        EventType.NUMBER_ONE_STREAK,
                        key,
                        period,
                        number_one.title_id,
                        number_one.title,
                        number_one.season,
                        rank=1,
                        value=run_now,
                        unit=unit,
                        qualifier=str(reached),
                    )
                )
        events += top10_streaks

    # (record, the title challenging it, its value, the event's unit) for each record measured.
    challengers: list[tuple[Record, Entry, int, str]] = []
    if number_one is not None and number_one_since is not None:
        run = (period - number_one_since).days // step_days + 1
        challengers.append((Record.LONGEST_NUMBER_ONE_RUN, number_one, run, unit))
    if most_hours is not None:
        challengers.append((Record.MOST_WEEKLY_HOURS, most_hours, most_hours_value, "hours"))
    if most_views is not None:
        challengers.append((Record.MOST_WEEKLY_VIEWS, most_views, most_views_value, "views"))

    records = dict(state.records) if state is not None else {}
    record_periods = dict(state.record_periods) if state is not None else {}
    broken: list[Event] = []
    for record, challenger, value, value_unit in challengers:
        # Counted per record: a measure a source starts publishing late (Netflix's views) needs
        # its own history before it can hold a record worth announcing.
        record_periods[record] = record_periods.get(record, 0) + 1
        standing = records.get(record)
        if standing is not None and value <= standing.value:
            continue  # checked before building a mark: most charts set no record
        announce = record_periods[record] >= config.record_min_periods
        mark = RecordMark(challenger.title_id, challenger.title, challenger.season, value, period)
        passed = _challenge(records, record, mark, announce)
        if passed is not None:
            broken.append(
                Event(
                    EventType.RECORD_BROKEN,
                    key,
                    period,
                    challenger.title_id,
                    challenger.title,
                    challenger.season,
                    rank=challenger.rank,
                    value=value,
                    unit=value_unit,
                    record=record,
                    previous=passed,
                    # One title may break several records in one period: the qualifier keeps
                    # their keys apart.
                    qualifier=record.value,
                )
            )
    if len(broken) > 1:
        broken.sort(key=_event_sort_key)
    events += broken
    events += hours_milestones
    if not in_rank_order:
        events.sort(key=_event_sort_key)

    new_state = ChartState(
        last_period=period,
        periods_seen=periods_seen,
        entries=entries,
        number_one_since=number_one_since,
        records=records,
        record_periods=record_periods,
        cumulative_hours=totals if totals is not None else cumulative_hours,
    )
    return events, new_state


def _fold_all_time(state: ChartState | None, chart: Chart) -> tuple[list[Event], ChartState]:
    """All-time lists only say which titles joined the list or moved up in it."""
    period = chart.period
    previous: dict[str, HeldEntry] = state.entries if state is not None else {}
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
            Event(
                EventType.ALL_TIME_LIST,
                chart.key,
                period,
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
    # Whether the title's record_broken (most regions at #1) was announced. As regions arrive,
    # the lead can pass from one title to another and back within the period; each title is
    # told once (its event's key is the same every time).
    record: bool = False


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
                title_id: [notice.highest, notice.all_regions, notice.record]
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
                # States written before `record` existed hold two values: no record was told.
                title_id: FamilyNotice(
                    int(notice[0]), bool(notice[1]), len(notice) > 2 and bool(notice[2])
                )
                for title_id, notice in data["announced"].items()
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
    the same previous period, and neither thresholds nor a title's record already announced for
    the period are repeated.
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
            announced[title_id] = FamilyNotice(reached, notice.all_regions or is_all, notice.record)
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
        notice = announced.get(leader_id, FamilyNotice(0, False))
        if passed is not None and not notice.record:
            announced[leader_id] = notice._replace(record=True)
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
