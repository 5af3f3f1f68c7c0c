"""The one path every chart takes: gate → store → diff → events (replay, import and polling).

Charts must arrive in period order (per key); several files are merged by period first. States and
the last accepted chart of each key are cached in memory so a long replay does no history reads;
everything one flush produces (charts, rejections, states, events and, when live, the deliveries
those events owe) is stored as one unit of work (Storage.save_batch).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from bot.diff import ChartState, DiffConfig, FamilyState, detect_chart_events, detect_family_events
from bot.events import Event
from bot.models import WORLD, Chart, ChartKey, Rejection
from bot.ports import Batch, Family, Storage
from bot.validate import validate_batch, validate_chart

log = logging.getLogger(__name__)

EventSink = Callable[[list[Event]], Awaitable[None]]

# A flush after about a thousand charts (one week of Netflix's per-country file; a batch ends at
# a period's end) keeps each transaction short, so that a process sharing the database file (the
# bot beside an import) does not wait near its busy timeout (storage/sqlite/connection.py),
# without paying per-chart commits (a live poll brings a few hundred charts: one flush). It also
# bounds what a long replay holds before it is stored.
FLUSH_CHARTS = 1_000

# The gate and the diff are plain Python and never wait: without a pause now and then they would
# hold the event loop for a whole replay or poll, and the chat adapters' heartbeats would wait
# with them.
PAUSE_EVERY_CHARTS = 50


@dataclass(slots=True)
class PipelineStats:
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0  # a period already stored for that key: polling it again changes nothing
    rows: int = 0
    events: int = 0
    queued: int = 0  # deliveries queued for the new events (live polling only)
    rejections: list[tuple[str, str]] = field(default_factory=list)  # (chart label, reason)

    def add(self, other: PipelineStats) -> None:
        self.accepted += other.accepted
        self.rejected += other.rejected
        self.skipped += other.skipped
        self.rows += other.rows
        self.events += other.events
        self.queued += other.queued
        self.rejections.extend(other.rejections)


class Pipeline:
    """`queue_deliveries`: live polling stores events that are news, and queues the deliveries
    they owe with them; import and replay store history, and queue nothing."""

    def __init__(
        self,
        storage: Storage,
        diff_config: DiffConfig,
        *,
        queue_deliveries: bool,
        sink: EventSink | None = None,
    ) -> None:
        self._storage = storage
        self._queue_deliveries = queue_deliveries
        self._config = diff_config
        self._sink = sink
        self._states: dict[ChartKey, ChartState | None] = {}
        self._last_chart: dict[ChartKey, Chart | None] = {}
        self._family_states: dict[Family, FamilyState | None] = {}
        self._batch = Batch()
        # States folded since the last flush, encoded at the flush: a key folded several times
        # in one batch is encoded once.
        self._unsaved_states: dict[ChartKey, ChartState] = {}
        self._pending_charts = 0
        # Newest period of each family known to be stored (by earlier runs or by this pipeline).
        self._family_latest: dict[Family, date | None] = {}
        self._charts_since_pause = 0

    async def process(
        self, charts: Iterable[Chart], *, expected_period: date | None = None
    ) -> PipelineStats:
        """Run charts (period-ascending) through the gate, the store and the diff engine."""
        stats = PipelineStats()
        for period, group in itertools.groupby(charts, key=lambda c: c.period):
            await self._process_period(period, list(group), stats, expected_period)
            if self._pending_charts >= FLUSH_CHARTS:
                await self._flush(stats)
        # Every batch is stored, and its events handed to the sink, when process() returns.
        await self._flush(stats)
        return stats

    async def reject(self, chart: Chart, reason: str, stats: PipelineStats) -> None:
        """Store a chart refused before the gate (e.g. its fetch failed) with its reason."""
        self._batch.rejected.append(Rejection(chart, reason))
        stats.rejected += 1
        stats.rejections.append((chart.label(), reason))
        self._pending_charts += 1

    async def _known(self, key: ChartKey) -> tuple[ChartState | None, Chart | None]:
        if key not in self._states:
            raw = await self._storage.load_chart_state(key)
            self._states[key] = ChartState.from_json(raw) if raw is not None else None
            self._last_chart[key] = await self._storage.latest_chart(key)
        return self._states[key], self._last_chart[key]

    async def _process_period(
        self,
        period: date,
        group: list[Chart],
        stats: PipelineStats,
        expected_period: date | None,
    ) -> None:
        candidates: list[Chart] = []
        previous: dict[ChartKey, Chart] = {}
        seen: set[ChartKey] = set()
        for chart in group:
            self._charts_since_pause += 1
            if self._charts_since_pause >= PAUSE_EVERY_CHARTS:
                self._charts_since_pause = 0
                await asyncio.sleep(0)
            stats.rows += chart.rows
            _, last = await self._known(chart.key)
            if chart.key in seen or (last is not None and chart.period <= last.period):
                stats.skipped += 1
                continue
            unchanged = (
                chart.key.granularity == "alltime"
                and last is not None
                and chart.entries == last.entries
            )
            if unchanged:
                # An all-time list that did not change since the last snapshot is news to no
                # one; it is not stored again (the previous snapshot still stands).
                stats.skipped += 1
                continue
            seen.add(chart.key)
            reason = validate_chart(chart, last, expected_period=expected_period)
            if reason is not None:
                await self.reject(chart, reason, stats)
                continue
            if last is not None:
                previous[chart.key] = last
            candidates.append(chart)

        batch_reasons = validate_batch(candidates, previous)
        accepted: list[Chart] = []
        for index, chart in enumerate(candidates):
            if index in batch_reasons:
                await self.reject(chart, batch_reasons[index], stats)
            else:
                accepted.append(chart)

        for chart in accepted:
            state = self._states[chart.key]
            events, new_state = detect_chart_events(state, chart, self._config)
            self._states[chart.key] = new_state
            self._last_chart[chart.key] = chart
            self._batch.accepted.append(chart)
            self._unsaved_states[chart.key] = new_state
            self._batch.events.extend(events)
            stats.accepted += 1
            self._pending_charts += 1

        await self._detect_families(period, accepted)

    async def _detect_families(self, period: date, accepted: list[Chart]) -> None:
        """'#1 in N countries' needs every region of a family for the period, stored or new."""
        by_family: dict[Family, dict[str, Chart]] = {}
        for chart in accepted:
            if chart.key.region != WORLD:
                by_family.setdefault(chart.key.family(), {})[chart.key.region] = chart
        for family in sorted(by_family):
            regions = by_family[family]
            if family not in self._family_latest:
                self._family_latest[family] = await self._storage.latest_period(family)
            latest_stored = self._family_latest[family]
            if latest_stored is not None and latest_stored >= period:
                # Charts of this period were stored by an earlier process() call (which always
                # ends with its saves complete) or an earlier run: every region counts.
                for stored in await self._storage.family_charts(family, period):
                    regions.setdefault(stored.key.region, stored)
            if family not in self._family_states:
                raw = await self._storage.load_family_state(family)
                self._family_states[family] = (
                    FamilyState.from_json(raw) if raw is not None else None
                )
            charts = [regions[region] for region in sorted(regions)]
            events, new_state = detect_family_events(
                self._family_states[family], family, period, charts, self._config
            )
            self._family_states[family] = new_state
            self._family_latest[family] = max(period, latest_stored or period)
            self._batch.family_states[family] = new_state.to_json()
            self._batch.events.extend(events)

    async def _flush(self, stats: PipelineStats) -> None:
        """Store the batch as one unit of work, then hand its new events to the sink."""
        if not (self._batch.accepted or self._batch.rejected or self._batch.events):
            return
        batch, self._batch, self._pending_charts = self._batch, Batch(), 0
        batch.chart_states = {key: st.to_json() for key, st in self._unsaved_states.items()}
        self._unsaved_states = {}
        saved = await self._storage.save_batch(batch, queue_deliveries=self._queue_deliveries)
        stats.events += len(saved.events)
        stats.queued += saved.queued
        if batch.accepted or batch.rejected:
            log.info(
                "stored %d charts, %d rejected, %d new events, %d deliveries queued",
                len(batch.accepted),
                len(batch.rejected),
                len(saved.events),
                saved.queued,
            )
        await self._hand_over(saved.events)

    async def _hand_over(self, events: list[Event]) -> None:
        if events and self._sink is not None:
            await self._sink(events)
