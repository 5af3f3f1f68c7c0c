"""Events: what the diff engine says happened, with a deterministic key and a stable JSON form."""

from __future__ import annotations

from dataclasses import dataclass
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


class Tier(StrEnum):
    """How much a fan wants to hear about an event: new subscriptions get headlines only."""

    HEADLINE = "headline"
    DETAIL = "detail"


# Entered is a headline only for a debut (see `Event.tier`).
TYPE_TIERS: dict[EventType, Tier] = {
    EventType.NEW_NUMBER_ONE: Tier.HEADLINE,
    EventType.LOST_NUMBER_ONE: Tier.HEADLINE,
    EventType.NUMBER_ONE_STREAK: Tier.HEADLINE,
    EventType.COUNTRIES_AT_NUMBER_ONE: Tier.HEADLINE,
    EventType.RECORD_BROKEN: Tier.HEADLINE,
    EventType.ALL_TIME_LIST: Tier.HEADLINE,
    EventType.HOURS_MILESTONE: Tier.HEADLINE,
    EventType.ENTERED: Tier.DETAIL,
    EventType.LEFT: Tier.DETAIL,
    EventType.CLIMBED: Tier.DETAIL,
    EventType.TOP10_STREAK: Tier.DETAIL,
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


@dataclass(frozen=True, slots=True)
class Event:
    """One thing a fan may want to hear about. `key` is deterministic: replays never duplicate."""

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
    # entered / new_number_one: the source counts this as the title's first period in its Top 10.
    debut: bool = False
    # record_broken: the first period of the history the record is measured over.
    since: date | None = None

    @property
    def key(self) -> str:
        """type:source:service:region:category:granularity:period:title_id[:qualifier]"""
        chart = self.chart
        key = (
            f"{self.type.value}:{chart.source}:{chart.service}:{chart.region}:{chart.category}:"
            f"{chart.granularity}:{self.period.isoformat()}:{self.title_id}"
        )
        return f"{key}:{self.qualifier}" if self.qualifier else key

    @property
    def importance(self) -> int:
        return IMPORTANCE[self.type]

    @property
    def tier(self) -> Tier:
        if self.type is EventType.ENTERED and self.debut:
            return Tier.HEADLINE
        return TYPE_TIERS[self.type]

    @property
    def filter_types(self) -> frozenset[EventType]:
        """The types a filter may name to get this event: its own, and a debut at #1 is also an
        entry, a climb to #1 also a climb."""
        if self.type is not EventType.NEW_NUMBER_ONE:
            return frozenset({self.type})
        also = EventType.CLIMBED if self.previous_rank is not None else EventType.ENTERED
        return frozenset({self.type, also})

    def to_json(self) -> dict[str, Any]:
        """The jsonl form printed by `top10bot replay --format jsonl`, as a dict.

        Keys in a fixed order: key, type, source, service, region, category, granularity, period,
        title, season, title_id, then, each pair only when present, rank and previous_rank, value
        and unit, total_regions, record and previous, qualifier, debut (only when true), since.
        """
        chart = self.chart
        data: dict[str, Any] = {
            "key": self.key,
            "type": self.type.value,
            "source": chart.source,
            "service": chart.service,
            "region": chart.region,
            "category": chart.category,
            "granularity": chart.granularity,
            "period": self.period.isoformat(),
            "title": self.title,
            "season": self.season,
            "title_id": self.title_id,
        }
        if self.rank is not None or self.previous_rank is not None:
            data["rank"] = self.rank
            data["previous_rank"] = self.previous_rank
        if self.value is not None:
            data["value"] = self.value
            data["unit"] = self.unit
        if self.total_regions is not None:
            data["total_regions"] = self.total_regions
        if self.record is not None:
            data["record"] = self.record.value
            data["previous"] = self.previous.to_json() if self.previous else None
        if self.qualifier:
            data["qualifier"] = self.qualifier
        if self.debut:
            data["debut"] = True
        if self.since is not None:
            data["since"] = self.since.isoformat()
        return data

    def to_json_bytes(self) -> bytes:
        """to_json_text as UTF-8 bytes."""
        return orjson.dumps(self.to_json())

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
            debut=bool(data.get("debut", False)),
            since=date.fromisoformat(data["since"]) if data.get("since") else None,
        )
