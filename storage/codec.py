"""Conversions and rules shared by every Storage implementation, so they behave identically."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import orjson

from bot.events import Event, EventType, Record, RecordHolder
from bot.models import GRANULARITIES, Chart, ChartKey, Entry, Granularity, normalise_title
from bot.ports import StateJson, TitleHit

Clock = Callable[[], datetime]
# Called by save_batch with the events it stored and their event numbers, before it commits
# (the outbox queues their deliveries there); an exception undoes the whole batch. See
# on_new_events.
EventHook = Callable[[list[Event], list[int]], Awaitable[Any]]


def utc_now() -> datetime:
    return datetime.now(UTC)


def granularity(text: str) -> Granularity:
    for known in GRANULARITIES:
        if text == known:
            return known
    raise ValueError(f"unknown granularity {text!r} in storage")


def key_columns(key: ChartKey) -> tuple[str, str, str, str, str]:
    return (key.source, key.service, key.region, key.category, key.granularity)


def key_from_columns(source: str, service: str, region: str, category: str, gran: str) -> ChartKey:
    return ChartKey(source, service, region, category, granularity(gran))


# Titles repeat across thousands of charts; folding each one again would dominate bulk imports.
folded_title = lru_cache(maxsize=65536)(normalise_title)


def stored_form(chart: Chart) -> Chart:
    """The chart as it reads back from storage.

    An accepted chart has passed the gate, so parse_error is not kept; extra is copied so a caller
    mutating its dict cannot change stored history.
    """
    return replace(chart, parse_error=None, extra=dict(chart.extra))


def last_per_period(charts: Iterable[Chart]) -> list[Chart]:
    """One chart per key and period: a later chart in the same batch replaces an earlier one."""
    latest: dict[tuple[ChartKey, date], Chart] = {}
    for chart in charts:
        latest.pop((chart.key, chart.period), None)
        latest[(chart.key, chart.period)] = chart
    return list(latest.values())


def first_per_key(events: Iterable[Event]) -> list[Event]:
    """Events with a key seen earlier in the same batch are duplicates: keep the first."""
    if not isinstance(events, list):
        events = list(events)
    if len({event.key for event in events}) == len(events):
        return events  # the usual case: one set, no dict
    seen: dict[str, Event] = {}
    for event in events:
        seen.setdefault(event.key, event)
    return list(seen.values())


# The stored form of an Entry: a JSON array of these fields, in this order. Changing it needs a
# migration that rewrites charts.entries.
ENTRY_FORMAT = (
    "rank",
    "title_id",
    "title",
    "season",
    "points",
    "days_in_top10",
    "weeks_in_top10",
    "hours",
    "views",
    "runtime",
)


def _entry_row(entry: Entry) -> tuple[Any, ...]:
    # Fields read one by one, not by an attrgetter: compiled (setup.py), this reads them straight
    # from the object, where an attrgetter looks each one up by name (a scratch timing over the
    # entries of 9,593 real charts: 0.213 -> 0.093 us per row; events: 0.361 -> 0.230 us).
    return (
        entry.rank,
        entry.title_id,
        entry.title,
        entry.season,
        entry.points,
        entry.days_in_top10,
        entry.weeks_in_top10,
        entry.hours,
        entry.views,
        entry.runtime,
    )


def encode_entries(entries: Iterable[Entry]) -> str:
    """A chart's rows as one JSON array of arrays, each holding ENTRY_FORMAT's fields in order."""
    return encode_entries_utf8(entries).decode()


def encode_entries_utf8(entries: Iterable[Entry]) -> bytes:
    """encode_entries as UTF-8 bytes."""
    return orjson.dumps([_entry_row(entry) for entry in entries])


def decode_entries(text: str) -> tuple[Entry, ...]:
    rows: list[list[Any]] = orjson.loads(text)
    return tuple(Entry(**dict(zip(ENTRY_FORMAT, row, strict=True))) for row in rows)


def encode_extra(extra: dict[str, str]) -> str | None:
    return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None


def decode_extra(text: str | None) -> dict[str, str]:
    if text is None:
        return {}
    loaded: dict[str, str] = json.loads(text)
    return loaded


# Dates and datetimes are not JSON: refuse them (TypeError) instead of orjson's silent ISO text,
# so a state that other stores could not read back never gets written.
_STATE_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def encode_state(state: StateJson) -> str:
    # States hold only strings, numbers and lists: orjson's compact, key-sorted output is
    # deterministic and several times faster than the json module on a long replay.
    return orjson.dumps(state, option=_STATE_OPTIONS).decode()


def decode_state(text: str) -> StateJson:
    loaded: StateJson = orjson.loads(text)
    return loaded


# The stored form of the events of one chart and period (event_groups.events): a JSON array with
# one array per event, holding EVENT_FORMAT's fields in this order. The chart and period are the
# group's own columns and the key is rebuilt from the fields, so an event takes about a third of
# the bytes of its jsonl form (bench/replay.py: the events were four fifths of the database).
# Rows may be shorter (trailing nulls left out, as earlier versions wrote them) and a qualifier
# may be null for "": both read back the same. Changing the fields needs a migration.
EVENT_FORMAT = (
    "type",
    "title_id",
    "title",
    "season",
    "rank",
    "previous_rank",
    "value",
    "unit",
    "total_regions",
    "record",
    "previous",  # [title, season, value, period] of the record's previous holder
    "qualifier",
)


def _event_row(event: Event) -> tuple[Any, ...]:
    # Fields read one by one, like _entry_row. orjson writes the enums as their values.
    previous = event.previous
    return (
        event.type,
        event.title_id,
        event.title,
        event.season,
        event.rank,
        event.previous_rank,
        event.value,
        event.unit,
        event.total_regions,
        event.record,
        None
        if previous is None
        else (previous.title, previous.season, previous.value, previous.period.isoformat()),
        event.qualifier,
    )


def encode_events(events: Iterable[Event]) -> str:
    """The stored form of events that share one chart and period (see EVENT_FORMAT)."""
    return encode_events_utf8(events).decode()


def encode_events_utf8(events: Iterable[Event]) -> bytes:
    """encode_events as UTF-8 bytes."""
    return orjson.dumps([_event_row(event) for event in events])


def decode_events(
    chart: ChartKey, period: date, text: str, *, title_id: str | None = None
) -> list[Event]:
    """Inverse of encode_events, given the chart and period the events share; with title_id,
    only that title's events (the others are not built)."""
    rows: list[list[Any]] = orjson.loads(text)
    return [
        _event_from_row(chart, period, row)
        for row in rows
        if title_id is None or row[1] == title_id
    ]


def _event_from_row(chart: ChartKey, period: date, row: list[Any]) -> Event:
    row += [None] * (len(EVENT_FORMAT) - len(row))
    previous = row[10]
    return Event(
        type=EventType(row[0]),
        chart=chart,
        period=period,
        title_id=row[1],
        title=row[2],
        season=row[3],
        rank=row[4],
        previous_rank=row[5],
        value=row[6],
        unit=row[7],
        total_regions=row[8],
        record=Record(row[9]) if row[9] else None,
        previous=None
        if previous is None
        else RecordHolder(previous[0], previous[1], previous[2], date.fromisoformat(previous[3])),
        qualifier=row[11] or "",
    )


def encode_time(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("storage timestamps must be timezone-aware")
    # A fixed width keeps text order equal to time order.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def decode_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def check_limit(limit: int) -> int:
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    return limit


def title_order(hit: TitleHit) -> tuple[str, str, str, bool, str]:
    """Deterministic title order, the same as SQL `ORDER BY title_norm, title, title_id, season`
    (text compares by code point in both; SQL sorts a NULL season first)."""
    return (
        folded_title(hit.title),
        hit.title,
        hit.title_id,
        hit.season is not None,
        hit.season or "",
    )


def search_order(hit: TitleHit, needle: str) -> tuple[int, tuple[str, str, str, bool, str]]:
    """Titles where the text matches earlier come first ("stranger" → "Stranger Things" before
    "The Stranger"), then title_order. Mirrors SQL `instr(title_norm, needle)`, 1-based."""
    return (folded_title(hit.title).find(needle) + 1, title_order(hit))
