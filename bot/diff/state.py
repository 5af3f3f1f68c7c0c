"""What the engine remembers between charts, and its JSON form (stored by the pipeline).

A state that went through `to_json` / `from_json` continues exactly like the original. States
are never changed once built: the engine makes a new one for every chart it folds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from bot.events import Record, RecordHolder

# Bumped when the JSON form of a state changes incompatibly; from_json refuses other versions.
# 2: ChartState gained `record_periods`.
STATE_VERSION = 2


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


@dataclass(frozen=True, slots=True)
class ChartState:
    """What the engine remembers about one ChartKey after its last accepted chart."""

    last_period: date
    periods_seen: int  # accepted charts folded, the baseline included
    entries: Mapping[str, HeldEntry]  # title_id → its place in the last accepted chart
    number_one_since: date | None  # first period of the current #1's unbroken run at #1
    records: Mapping[Record, RecordMark]
    # record → accepted charts in which its measure was present, the baseline included.
    record_periods: Mapping[Record, int]
    cumulative_hours: Mapping[str, int]  # title_id → hours summed over every chart of the key
    # The key's first accepted period: records are measured over the history since then.
    first_period: date

    def number_one_id(self) -> str | None:
        for title_id, held in self.entries.items():
            if held.rank == 1:
                return title_id
        return None

    def to_json(self) -> dict[str, Any]:
        # By rank; stable: titles of one rank keep entry order.
        by_rank = sorted(self.entries.items(), key=lambda item: item[1].rank)
        rows = [
            [title_id, held.rank, held.title, held.season, held.since.isoformat()]
            for title_id, held in by_rank
        ]
        since = self.number_one_since
        return {
            "v": STATE_VERSION,
            "last_period": self.last_period.isoformat(),
            "periods_seen": self.periods_seen,
            "entries": rows,
            "number_one_since": since.isoformat() if since else None,
            # Enum order, not insertion order, so equal states always serialise identically.
            "records": {
                record.value: self.records[record].to_json()
                for record in Record
                if record in self.records
            },
            "record_periods": {
                record.value: self.record_periods[record]
                for record in Record
                if record in self.record_periods
            },
            "cumulative_hours": dict(self.cumulative_hours),
            "first_period": self.first_period.isoformat(),
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
            records={
                Record(name): RecordMark.from_json(mark) for name, mark in data["records"].items()
            },
            record_periods={
                Record(name): int(count) for name, count in data["record_periods"].items()
            },
            cumulative_hours={
                title_id: int(hours) for title_id, hours in data["cumulative_hours"].items()
            },
            first_period=_first_period(data, "last_period"),
        )


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
    first_period: date  # the family's first folded period

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
            "first_period": self.first_period.isoformat(),
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
            first_period=_first_period(data, "period"),
        )


def _first_period(data: Mapping[str, Any], last_field: str) -> date:
    """States written before `first_period` existed: their last period, so a record needs a
    year of history from the upgrade on (never claimed over a shorter one)."""
    stored = data.get("first_period")
    return date.fromisoformat(stored if stored else data[last_field])


def _check_version(data: Mapping[str, Any], kind: str) -> None:
    version = data.get("v")
    if version != STATE_VERSION:
        raise ValueError(f"{kind} JSON has version {version!r}, expected {STATE_VERSION}")
