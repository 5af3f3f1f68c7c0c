"""Events: what the diff engine says happened, with a deterministic key and a stable JSON form.

A replay makes an event for roughly every row it reads, so building one is kept cheap: an Event is
a slotted dataclass with a plain `__init__` (a frozen dataclass sets every field through
`object.__setattr__`, several times slower), and what its key and JSON text share with the other
events of its chart and period is computed once for them all (see `ChartPeriod`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import orjson

from bot.models import ChartKey


class EventType(StrEnum):
    NEW_NUMBER_ONE = "new_number_one"
    LOST_NUMBER_ONE = "lost_number_one"
    ENTERED = "entered"
    LEFT = "left"
    CLIMBED = "climbed"
    NUMBER_ONE_STREAK = "number_one_streak"
    TOP10_STREAK = "top10_streak"
    COUNTRIES_AT_NUMBER_ONE = "countries_at_number_one"
    RECORD_BROKEN = "record_broken"
    HOURS_MILESTONE = "hours_milestone"
    ALL_TIME_LIST = "all_time_list"


# Higher first when several events share one message (used by renderers and the outbox digest).
IMPORTANCE: dict[EventType, int] = {
    EventType.RECORD_BROKEN: 100,
    EventType.NEW_NUMBER_ONE: 90,
    EventType.COUNTRIES_AT_NUMBER_ONE: 80,
    EventType.NUMBER_ONE_STREAK: 70,
    EventType.ALL_TIME_LIST: 65,
    EventType.HOURS_MILESTONE: 60,
    EventType.LOST_NUMBER_ONE: 50,
    EventType.CLIMBED: 40,
    EventType.TOP10_STREAK: 30,
    EventType.ENTERED: 20,
    EventType.LEFT: 10,
}


class Record(StrEnum):
    LONGEST_NUMBER_ONE_RUN = "longest_number_one_run"
    MOST_REGIONS_AT_NUMBER_ONE = "most_regions_at_number_one"
    MOST_WEEKLY_HOURS = "most_weekly_hours"
    MOST_WEEKLY_VIEWS = "most_weekly_views"


@dataclass(frozen=True, slots=True)
class RecordHolder:
    """Who held a record before it was broken."""

    title: str
    season: str | None
    value: int
    period: date

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "season": self.season,
            "value": self.value,
            "period": self.period.isoformat(),
        }


class ChartPeriod:
    """The chart and period of events made in a row for them, with what their keys and JSON texts
    share: the middle of the key ("source:...:period:") and the chart fields of the JSON
    (`,"source":...,"period":"...",`, encoded by orjson like the rest of the text).

    One object for all the events of a chart and period that were made one after the other (the
    diff engine makes them so): its identity tells where a chart's events end in a long list
    (the store groups them by it). Events of one chart and period made apart may hold different
    ones, with equal fields.
    """

    __slots__ = ("chart", "json_middle", "key_middle", "period", "period_text")

    def __init__(self, chart: ChartKey, period: date) -> None:
        self.chart = chart
        self.period = period
        parts = _chart_parts.get(chart)
        if parts is None:
            if len(_chart_parts) >= _CHART_PARTS_LIMIT:
                _chart_parts.clear()
            fields = orjson.dumps(
                {
                    "source": chart.source,
                    "service": chart.service,
                    "region": chart.region,
                    "category": chart.category,
                    "granularity": chart.granularity,
                }
            )
            parts = _chart_parts[chart] = (
                f"{chart.source}:{chart.service}:{chart.region}:{chart.category}:"
                f"{chart.granularity}:",
                b"," + fields[1:-1] + b',"period":"',
            )
        period_text = self.period_text = period.isoformat()  # nothing to escape in JSON
        self.key_middle = parts[0] + period_text + ":"
        self.json_middle = parts[1] + period_text.encode() + b'",'


# The period-free parts of ChartPeriod for each chart key (a replay makes one ChartPeriod per chart
# and period, of a few hundred keys): its key prefix and its JSON fields up to `"period":"`.
_chart_parts: dict[ChartKey, tuple[str, bytes]] = {}
_CHART_PARTS_LIMIT = 4096


# The ChartPeriod of the newest event. The diff engine makes all events of one chart in a row, so
# each chart computes its texts once; matched by identity, so a hit always has the same inputs.
_recent_chart_period: ChartPeriod | None = None

# `,"type":"..."` of each event type, as it appears in an event's JSON text.
_TYPE_JSON: dict[EventType, bytes] = {
    event_type: b',"type":' + orjson.dumps(event_type.value) for event_type in EventType
}


@dataclass(slots=True, init=False, unsafe_hash=True)
class Event:
    """One thing a fan may want to hear about. `key` is deterministic: replays never duplicate.

    Immutable by contract: nothing assigns to an event after `__init__` (its key and cached JSON
    text derive from its fields). Not a frozen dataclass only because that makes construction
    several times slower; equality and hashing (unsafe_hash) are over the fields, as if frozen.
    """

    type: EventType
    chart: ChartKey
    period: date
    title_id: str
    title: str
    season: str | None
    rank: int | None = None
    previous_rank: int | None = None
    value: int | None = None
    unit: str | None = None  # "days" / "weeks" (streaks), "regions", "hours", "views"
    total_regions: int | None = None
    record: Record | None = None
    previous: RecordHolder | None = None
    # Disambiguates events that may fire more than once for one title and period (a milestone).
    qualifier: str = ""
    # Computed once: a long replay asks for them several times per event (dedupe, store, print).
    key: str = field(init=False, repr=False, compare=False)
    chart_period: ChartPeriod = field(init=False, repr=False, compare=False)

    def __init__(
        self,
        type: EventType,
        chart: ChartKey,
        period: date,
        title_id: str,
        title: str,
        season: str | None,
        rank: int | None = None,
        previous_rank: int | None = None,
        value: int | None = None,
        unit: str | None = None,
        total_regions: int | None = None,
        record: Record | None = None,
        previous: RecordHolder | None = None,
        qualifier: str = "",
    ) -> None:
        global _recent_chart_period
        self.type = type
        self.chart = chart
        self.period = period
        self.title_id = title_id
        self.title = title
        self.season = season
        self.rank = rank
        self.previous_rank = previous_rank
        self.value = value
        self.unit = unit
        self.total_regions = total_regions
        self.record = record
        self.previous = previous
        self.qualifier = qualifier
        shared = _recent_chart_period
        if shared is None or shared.chart is not chart or shared.period is not period:
            shared = _recent_chart_period = ChartPeriod(chart, period)
        self.chart_period = shared
        # "type:source:service:region:category:granularity:period:title_id[:qualifier]"
        if qualifier:
            self.key = "".join((type, ":", shared.key_middle, title_id, ":", qualifier))
        else:
            self.key = "".join((type, ":", shared.key_middle, title_id))

    @property
    def importance(self) -> int:
        return IMPORTANCE[self.type]

    def to_json(self) -> dict[str, Any]:
        """The jsonl form printed by `top10bot replay --format jsonl`, as a dict (see to_json_text).

        Keys in a fixed order: key, type, source, service, region, category, granularity, period,
        title, season, title_id, then, each pair only when present, rank and previous_rank, value
        and unit, total_regions, record and previous, qualifier.
        """
        data: dict[str, Any] = orjson.loads(self.to_json_text())
        return data

    def to_json_text(self) -> str:
        """The event as compact JSON text (see to_json_bytes)."""
        return self.to_json_bytes().decode()

    def to_json_bytes(self) -> bytes:
        """The event as compact UTF-8 JSON (orjson): a replay prints every event this way.

        The key is encoded on its own and the chart fields come from the text shared by the
        chart's events, so one orjson call encodes the rest.
        """
        own: dict[str, Any] = {
            "title": self.title,
            "season": self.season,
            "title_id": self.title_id,
        }
        if self.rank is not None or self.previous_rank is not None:
            own["rank"] = self.rank
            own["previous_rank"] = self.previous_rank
        if self.value is not None:
            own["value"] = self.value
            own["unit"] = self.unit
        if self.total_regions is not None:
            own["total_regions"] = self.total_regions
        if self.record is not None:
            own["record"] = str(self.record)
            own["previous"] = self.previous.to_json() if self.previous else None
        if self.qualifier:
            own["qualifier"] = self.qualifier
        return b"".join(
            (
                b'{"key":',
                orjson.dumps(self.key),
                _TYPE_JSON[self.type],
                self.chart_period.json_middle,
                orjson.dumps(own)[1:],  # '"title":...}'
            )
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        """Inverse of to_json, used by the outbox and the store."""
        prev = data.get("previous")
        return cls(
            type=EventType(data["type"]),
            chart=ChartKey(
                data["source"],
                data["service"],
                data["region"],
                data["category"],
                data["granularity"],
            ),
            period=date.fromisoformat(data["period"]),
            title_id=data["title_id"],
            title=data["title"],
            season=data["season"],
            rank=data.get("rank"),
            previous_rank=data.get("previous_rank"),
            value=data.get("value"),
            unit=data.get("unit"),
            total_regions=data.get("total_regions"),
            record=Record(data["record"]) if data.get("record") else None,
            previous=RecordHolder(
                prev["title"], prev["season"], prev["value"], date.fromisoformat(prev["period"])
            )
            if prev
            else None,
            qualifier=data.get("qualifier", ""),
        )
