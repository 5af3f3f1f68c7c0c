"""The chart model shared by every source, the gate, the store and the diff engine."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Granularity = Literal["daily", "weekly", "alltime"]
GRANULARITIES: tuple[Granularity, ...] = ("daily", "weekly", "alltime")

# Region code of worldwide charts; every other region is an ISO 3166-1 alpha-2 code.
WORLD = "WORLD"
# Region used by events that span every region of one chart family ("#1 in 53 countries").
ALL_REGIONS = "ALL"


@dataclass(frozen=True, slots=True, order=True)
class ChartKey:
    """Identifies one chart family; a Chart is one period of it."""

    source: str  # who published it: "netflix", "flixpatrol", "the-numbers", "csv" ...
    service: str  # the streaming service ranked: "netflix", "disney", "hbo-max" ...
    region: str  # ISO 3166-1 alpha-2, or WORLD
    category: str  # "Films (English)", "TV", "Movies", "TV Shows", "Overall" ...
    granularity: Granularity

    def family(self) -> tuple[str, str, str, Granularity]:
        """The key without its region: all regions of one family are compared for '#1 in N'."""
        return (self.source, self.service, self.category, self.granularity)

    def __str__(self) -> str:
        return f"{self.source}/{self.service}/{self.region}/{self.category}/{self.granularity}"


@dataclass(frozen=True, slots=True)
class Entry:
    """One ranked row of a chart."""

    rank: int
    title_id: str  # stable identity: source id/slug, else normalised "show title|season"
    title: str  # display title, as the source wrote it
    season: str | None = None  # None for films and when the source has no season
    points: int | None = None  # FlixPatrol points (world charts)
    days_in_top10: int | None = None
    weeks_in_top10: int | None = None  # Netflix: cumulative, not consecutive
    hours: int | None = None
    views: int | None = None
    runtime: float | None = None  # hours, as Netflix publishes it


@dataclass(frozen=True, slots=True)
class Chart:
    """One period of one chart family: what a source said, before or after the gate."""

    key: ChartKey
    # The day (daily), the Sunday ending the week (weekly), the snapshot date (alltime).
    period: date
    entries: tuple[Entry, ...]
    expected_size: int = 10
    # Set by parsers that know something is off before the gate looks (HTML body, null, bad header).
    parse_error: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def rows(self) -> int:
        return len(self.entries)

    def number_one(self) -> Entry | None:
        for entry in self.entries:
            if entry.rank == 1:
                return entry
        return None

    def label(self) -> str:
        return f"{self.key}@{self.period.isoformat()}"


@dataclass(frozen=True, slots=True)
class Rejection:
    """A chart the gate refused, kept with its reason so operators can see it."""

    chart: Chart
    reason: str


_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w]+", re.UNICODE)


def normalise_title(text: str) -> str:
    """Fold a title to a comparable form: case, accents, curly quotes and punctuation ignored."""
    folded = unicodedata.normalize("NFKD", text).casefold()
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    folded = _PUNCT.sub(" ", folded)
    return _SPACES.sub(" ", folded).strip()


def make_title_id(show_title: str, season: str | None) -> str:
    """Identity of a title when the source has no id: normalised show title plus season."""
    base = normalise_title(show_title)
    if season:
        return f"{base}|{normalise_title(season)}"
    return base
