"""Conversions and rules shared by every Storage implementation, so they behave identically."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import MISSING, fields, replace
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any

import orjson

from bot.events import Event, EventType
from bot.models import GRANULARITIES, Chart, ChartKey, Entry, Granularity, normalise_title
from bot.ports import StateJson, TitleHit

Clock = Callable[[], datetime]


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
    seen: dict[str, Event] = {}
    for event in events:
        seen.setdefault(event.key, event)
    return list(seen.values())


# The stored form of an Entry: a JSON object of its fields by name, derived from the dataclass, a
# field left out when it holds its default (most entries have no points, views or runtime). A new
# Entry field with a default needs no migration.
_ENTRY_FIELDS = tuple((item.name, item.default) for item in fields(Entry))


def _entry_object(entry: Entry) -> dict[str, Any]:
    return {
        name: value
        for name, default in _ENTRY_FIELDS
        if (value := getattr(entry, name)) != default or default is MISSING
    }


def encode_entries(entries: Iterable[Entry]) -> str:
    """A chart's rows as one JSON array of objects, in the order the source listed them."""
    return orjson.dumps([_entry_object(entry) for entry in entries]).decode()


def decode_entries(text: str) -> tuple[Entry, ...]:
    objects: list[dict[str, Any]] = orjson.loads(text)
    return tuple(Entry(**fields_of) for fields_of in objects)


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


# The columns an event is stored in (events table): what it is found by. The rest of its JSON form
# (Event.to_json, which `replay --format jsonl` prints) is one JSON text beside them, so a field
# the event gains needs no migration.
EVENT_COLUMNS = (
    "key",
    "type",
    "source",
    "service",
    "region",
    "category",
    "granularity",
    "period",
    "title_id",
)


def event_row(event: Event) -> tuple[str, ...]:
    """The values of EVENT_COLUMNS, then the JSON text of the event's other fields."""
    data = event.to_json()
    columns = tuple(str(data.pop(column)) for column in EVENT_COLUMNS)
    return (*columns, orjson.dumps(data).decode())


def event_from_row(row: Sequence[Any]) -> Event:
    """Inverse of event_row."""
    data: dict[str, Any] = orjson.loads(row[len(EVENT_COLUMNS)])
    data.update(zip(EVENT_COLUMNS, row[: len(EVENT_COLUMNS)], strict=True))
    return Event.from_json(data)


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


# Event types as a destination or subscription stores them: comma-separated, "" = every type.
def encode_types(types: Iterable[EventType]) -> str:
    return ",".join(sorted(t.value for t in types))


def decode_types(text: str) -> frozenset[EventType]:
    return frozenset(EventType(word) for word in text.split(",") if word)


def encode_clock_time(moment: time | None) -> str | None:
    return moment.strftime("%H:%M") if moment is not None else None


def decode_clock_time(text: str | None) -> time | None:
    return time.fromisoformat(text) if text else None
