"""An in-memory Storage with the same behaviour as SqliteStorage, for unit tests and the console.

It shares its rules with the SQL store through storage.codec (ordering, de-duplication, JSON
encoding), and keeps states and events as JSON text so that what cannot be stored in SQLite cannot
be stored here either.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass
from datetime import date

from bot.events import Event
from bot.models import Chart, ChartKey
from bot.ports import Batch, Family, RankPoint, StateJson, StoredRejection, TitleHit
from storage import codec
from storage.schema import latest_version


@dataclass(frozen=True, slots=True)
class _StoredEvent:
    """An event in its stored form (codec.encode_events), so it reads back as from SQLite."""

    chart: ChartKey
    period: date
    title_id: str
    encoded: str


class MemoryStorage:
    """The chart history in dictionaries; nothing survives the process."""

    def __init__(self, *, clock: codec.Clock = codec.utc_now) -> None:
        self._clock = clock
        self._charts: dict[ChartKey, dict[date, Chart]] = {}
        self._periods: dict[ChartKey, list[date]] = {}  # sorted, for latest_chart
        # How many stored entries mention each title: a title leaves the index at zero, like the
        # SQL store's orphan clean-up after a chart is replaced.
        self._titles: Counter[TitleHit] = Counter()
        self._rejections: list[StoredRejection] = []
        self._chart_states: dict[ChartKey, str] = {}
        self._family_states: dict[Family, str] = {}
        self._events: dict[str, _StoredEvent] = {}  # insertion order is storage order
        self._meta: dict[str, str] = {}
        self._event_hook: codec.EventHook | None = None

    def on_new_events(self, hook: codec.EventHook) -> None:
        """Run `hook` with the new events of every save_batch (the outbox queues deliveries)."""
        self._event_hook = hook

    async def migrate(self) -> int:
        # Nothing to apply, but callers see the same schema version as with a database.
        return latest_version()

    async def close(self) -> None:
        return None

    async def save_batch(self, batch: Batch) -> list[Event]:
        # Through the stored text form, so rejected_at reads back exactly as from SQLite (UTC).
        now = codec.decode_time(codec.encode_time(self._clock()))
        charts = [codec.stored_form(chart) for chart in codec.last_per_period(batch.accepted)]
        chart_states = {key: codec.encode_state(s) for key, s in batch.chart_states.items()}
        family_states = {family: codec.encode_state(s) for family, s in batch.family_states.items()}
        events = codec.first_per_key(batch.events)
        encoded_events = [(event, codec.encode_events([event])) for event in events]
        new_events = [event for event in events if event.key not in self._events]
        if self._event_hook is not None and new_events:
            # Before anything is stored: a failing hook leaves the store as it was, as a rollback
            # of SqliteStorage's transaction would.
            # Ids as the SQL store numbers its events: in storage order, from 1.
            first_id = len(self._events) + 1
            await self._event_hook(new_events, list(range(first_id, first_id + len(new_events))))
        for chart in charts:
            self._put_chart(chart)
        for rejection in batch.rejected:
            self._rejections.append(
                StoredRejection(
                    key=rejection.chart.key,
                    period=rejection.chart.period,
                    reason=rejection.reason,
                    rows=rejection.chart.rows,
                    rejected_at=now,
                )
            )
        self._chart_states.update(chart_states)
        self._family_states.update(family_states)
        for event, encoded in encoded_events:
            self._events.setdefault(
                event.key, _StoredEvent(event.chart, event.period, event.title_id, encoded)
            )
        return new_events

    def _put_chart(self, chart: Chart) -> None:
        by_period = self._charts.setdefault(chart.key, {})
        old = by_period.get(chart.period)
        if old is None:
            bisect.insort(self._periods.setdefault(chart.key, []), chart.period)
        else:
            self._titles.subtract(_title_hits(old))
            self._titles = +self._titles  # drop titles no stored entry mentions any more
        by_period[chart.period] = chart
        self._titles.update(_title_hits(chart))

    async def load_chart_state(self, key: ChartKey) -> StateJson | None:
        encoded = self._chart_states.get(key)
        return codec.decode_state(encoded) if encoded is not None else None

    async def load_family_state(self, family: Family) -> StateJson | None:
        encoded = self._family_states.get(family)
        return codec.decode_state(encoded) if encoded is not None else None

    async def latest_chart(self, key: ChartKey, on_or_before: date | None = None) -> Chart | None:
        periods = self._periods.get(key, [])
        end = len(periods) if on_or_before is None else bisect.bisect_right(periods, on_or_before)
        if end == 0:
            return None
        return _copy(self._charts[key][periods[end - 1]])

    async def has_chart(self, key: ChartKey, period: date) -> bool:
        return period in self._charts.get(key, {})

    async def chart_keys(self, source: str | None = None) -> list[ChartKey]:
        return sorted(key for key in self._charts if source is None or key.source == source)

    async def family_charts(self, family: Family, period: date) -> list[Chart]:
        found = [
            by_period[period]
            for key, by_period in self._charts.items()
            if key.family() == family and period in by_period
        ]
        return [_copy(chart) for chart in sorted(found, key=lambda chart: chart.key)]

    async def latest_period(self, family: Family) -> date | None:
        newest = [self._periods[key][-1] for key in self._charts if key.family() == family]
        return max(newest, default=None)

    async def recent_rejections(self, limit: int = 20) -> list[StoredRejection]:
        codec.check_limit(limit)
        # Newest first by time, then by storage order, as the SQL store orders them.
        numbered = sorted(
            enumerate(self._rejections),
            key=lambda item: (item[1].rejected_at, item[0]),
            reverse=True,
        )
        return [rejection for _, rejection in numbered[:limit]]

    async def search_titles(self, text: str, limit: int = 25) -> list[TitleHit]:
        codec.check_limit(limit)
        needle = codec.folded_title(text)
        hits = [hit for hit in self._titles if needle in codec.folded_title(hit.title)]
        return sorted(hits, key=lambda hit: codec.search_order(hit, needle))[:limit]

    async def all_titles(self) -> list[TitleHit]:
        return sorted(self._titles, key=codec.title_order)

    async def title_history(self, title_id: str) -> list[RankPoint]:
        appearances = [
            (period, key, entry.rank, position)
            for key, by_period in self._charts.items()
            for period, chart in by_period.items()
            for position, entry in enumerate(chart.entries)
            if entry.title_id == title_id
        ]
        appearances.sort()
        return [RankPoint(key, period, rank) for period, key, rank, _ in appearances]

    async def recent_events(self, limit: int = 50, title_id: str | None = None) -> list[Event]:
        codec.check_limit(limit)
        found: list[Event] = []
        for key in reversed(self._events):
            if len(found) == limit:
                break
            stored = self._events[key]
            if title_id is None or stored.title_id == title_id:
                found.extend(codec.decode_events(stored.chart, stored.period, stored.encoded))
        return found

    async def get_meta(self, name: str) -> str | None:
        return self._meta.get(name)

    async def set_meta(self, name: str, value: str) -> None:
        self._meta[name] = value


def _title_hits(chart: Chart) -> list[TitleHit]:
    return [TitleHit(entry.title_id, entry.title, entry.season) for entry in chart.entries]


def _copy(chart: Chart) -> Chart:
    """A chart whose extra dict the caller may change without touching the store."""
    return codec.stored_form(chart)
