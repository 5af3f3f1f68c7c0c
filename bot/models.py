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
    # A key is hashed a dozen times per chart (states, last charts, batches): computed once.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = (self.source, self.service, self.region, self.category, self.granularity)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[ChartKey], tuple[str, str, str, str, Granularity]]:
        # Rebuilt through __init__: string hashes differ between processes, so _hash is not kept.
        return (ChartKey, (self.source, self.service, self.region, self.category, self.granularity))

    def family(self) -> tuple[str, str, str, Granularity]:
        """The key without its region: all regions of one family are compared for '#1 in N'."""
        return (self.source, self.service, self.category, self.granularity)

    def __str__(self) -> str:
        return f"{self.source}/{self.service}/{self.region}/{self.category}/{self.granularity}"


@dataclass(slots=True, unsafe_hash=True)
class Entry:
    """One ranked row of a chart.

    Immutable by contract, like Event: nothing assigns to an entry after `__init__`. Not a frozen
    dataclass because parsing builds an entry for about a third of a file's rows, and a frozen
    dataclass sets each field through `object.__setattr__` (twice the cost in CPython, and
    interpreted code even where mypyc compiles this module). Equality and hashing are over the
    fields, as if frozen.
    """

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

    # Written out, not generated: the generated one is interpreted code even in a compiled build
    # (the dataclasses module writes it at import). Same parameters as the generated one.
    def __init__(
        self,
        rank: int,
        title_id: str,
        title: str,
        season: str | None = None,
        points: int | None = None,
        days_in_top10: int | None = None,
        weeks_in_top10: int | None = None,
        hours: int | None = None,
        views: int | None = None,
        runtime: float | None = None,
    ) -> None:
        self.rank = rank
        self.title_id = title_id
        self.title = title
        self.season = season
        self.points = points
        self.days_in_top10 = days_in_top10
        self.weeks_in_top10 = weeks_in_top10
        self.hours = hours
        self.views = views
        self.runtime = runtime


# Stands for "no extra given" in Chart.__init__ (never stored: each chart gets its own dict).
_NO_EXTRA: dict[str, str] = {}


@dataclass(slots=True, unsafe_hash=True)
class Chart:
    """One period of one chart family: what a source said, before or after the gate.

    Immutable by contract, like Entry (and not frozen for the same reason).
    """

    key: ChartKey
    period: (
        date  # the day (daily), the Sunday ending the week (weekly), the snapshot date (alltime)
    )
    entries: tuple[Entry, ...]
    expected_size: int = 10
    # Set by parsers that know something is off before the gate looks (HTML body, null, bad header).
    parse_error: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    # Written out for speed, like Entry.__init__; `extra` gets a new dict unless one is given.
    def __init__(
        self,
        key: ChartKey,
        period: date,
        entries: tuple[Entry, ...],
        expected_size: int = 10,
        parse_error: str | None = None,
        extra: dict[str, str] = _NO_EXTRA,
    ) -> None:
        self.key = key
        self.period = period
        self.entries = entries
        self.expected_size = expected_size
        self.parse_error = parse_error
        self.extra = {} if extra is _NO_EXTRA else extra

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
