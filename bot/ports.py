"""Ports: what the core needs from the outside world, declared here and implemented elsewhere.

`storage/` implements `Storage`; `handlers/` implement `Notifier`. The core never imports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from bot.events import Event
from bot.models import Chart, ChartKey, Granularity, Rejection

# A chart family without its region: (source, service, category, granularity).
Family = tuple[str, str, str, Granularity]
# Engine state is opaque to storage: a JSON-serialisable dict written by bot.diff.
StateJson = dict[str, Any]


@dataclass(slots=True)
class Batch:
    """Everything one step of the pipeline writes, committed in one transaction."""

    accepted: list[Chart] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    chart_states: dict[ChartKey, StateJson] = field(default_factory=dict)
    family_states: dict[Family, StateJson] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StoredRejection:
    key: ChartKey
    period: date
    reason: str
    rows: int
    rejected_at: datetime


@dataclass(frozen=True, slots=True)
class TitleHit:
    """A title found in history: for /title search and autocomplete."""

    title_id: str
    title: str
    season: str | None


@dataclass(frozen=True, slots=True)
class RankPoint:
    """One appearance of a title in one chart period."""

    key: ChartKey
    period: date
    rank: int


class Storage(Protocol):
    """The chart history store. Implementations: storage.memory, storage.sqlite."""

    async def migrate(self) -> int:
        """Apply pending migrations; return the schema version now in force."""
        ...

    async def close(self) -> None: ...

    async def save_batch(self, batch: Batch) -> list[Event]:
        """Store charts, rejections, states and events atomically.

        Returns the events that were new (an event key already stored is skipped), in input order.
        Storing an accepted chart replaces a previously stored chart of the same key and period.
        """
        ...

    async def load_chart_state(self, key: ChartKey) -> StateJson | None: ...

    async def load_family_state(self, family: Family) -> StateJson | None: ...

    async def latest_chart(self, key: ChartKey, on_or_before: date | None = None) -> Chart | None:
        """The latest accepted chart of a key (optionally at or before a date)."""
        ...

    async def has_chart(self, key: ChartKey, period: date) -> bool:
        """Whether an accepted chart exists for this key and period."""
        ...

    async def chart_keys(self, source: str | None = None) -> list[ChartKey]:
        """Every key with at least one accepted chart, sorted."""
        ...

    async def family_charts(self, family: Family, period: date) -> list[Chart]:
        """All accepted charts of one family (every region) for one period, sorted by region."""
        ...

    async def latest_period(self, family: Family) -> date | None:
        """The newest period with an accepted chart in the family, any region."""
        ...

    async def recent_rejections(self, limit: int = 20) -> list[StoredRejection]:
        """Newest first."""
        ...

    async def search_titles(self, text: str, limit: int = 25) -> list[TitleHit]:
        """Titles whose display title contains `text` (case-insensitive); exact ranking is the
        caller's job (fuzzy scoring lives in the core)."""
        ...

    async def all_titles(self) -> list[TitleHit]:
        """Every distinct title in history (for fuzzy matching)."""
        ...

    async def title_history(self, title_id: str) -> list[RankPoint]:
        """Every chart appearance of a title, oldest first."""
        ...

    async def recent_events(self, limit: int = 50, title_id: str | None = None) -> list[Event]:
        """Newest first."""
        ...

    async def get_meta(self, name: str) -> str | None:
        """Small key/value facts (e.g. HTTP validators per URL, last poll times)."""
        ...

    async def set_meta(self, name: str, value: str) -> None: ...


class Notifier(Protocol):
    """Sends a rendered alert to one destination of one platform."""

    platform: str

    async def send(self, destination: str, text: str) -> None: ...
