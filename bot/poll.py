"""One poll pass over the live sources: sources yield charts, the poller feeds the pipeline.

- Each source is polled under its own lock, with its own `Pipeline`, so a scheduled poll and the
  start-up catch-up never interleave for one source, and a broken source never stops another.
- A source yields what it found (bot/sources/feed.py); the poller gates and stores the charts,
  stores the refusals, and counts what was fetched or unchanged, the same way for every source.
- A poll fails when a fetch failed or a chart was rejected. A source that failed 3 polls in a row
  AND for at least `[admin] alert_after` (30 min) sends one operator alert (to `[admin] chat`,
  else the console); the first good poll after an alert says the source recovered. The count and
  the streak's start live in the store, so restarts do not reset them.
- Catch-up: events of periods older than `[alerts] catchup_max_age` (a backfill after downtime)
  are not sent one by one; they fold into one summary per chat (bot/catchup.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final, TextIO

from bot.catchup import CatchupSummary, fold_catchup
from bot.delivery.text import split_text
from bot.diff import DiffConfig
from bot.events import Event
from bot.metrics import NO_METRICS, Metrics
from bot.models import Chart, ChartKey
from bot.pipeline import Pipeline, PipelineStats
from bot.poll_config import SOURCE_NAMES, PollConfig
from bot.poll_report import LastPoll, SourceReport, failure_alert, failures_key, last_poll_key
from bot.ports import Notifier, Storage
from bot.sources import flixpatrol_fetch, netflix_fetch
from bot.sources.conditional import ConditionalFetcher
from bot.sources.errors import SourceError
from bot.sources.feed import (
    Charts,
    Fetched,
    Outcome,
    PollContext,
    Refused,
    Source,
    SourceItem,
    SourceItems,
    send_into,
    throw_into,
)
from bot.sources.flixpatrol_fetch import FlixPatrolSource
from bot.sources.http import HttpClient
from bot.sources.netflix_fetch import NetflixSource
from bot.validate_history import closer_to_another_category

log = logging.getLogger(__name__)

FAILED_POLLS_BEFORE_ALERT: Final = 3

Clock = Callable[[], datetime]
TextSink = Callable[[str], Awaitable[None]]
EventSink = Callable[[list[Event]], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PollOutput:
    """Where a poll's news goes. Until the delivery engine routes events to subscribed chats,
    the composition root points these at the console (or a log)."""

    events: EventSink | None = None  # fresh events, one message each
    catchup: Callable[[CatchupSummary], Awaitable[None]] | None = None
    operator: TextSink | None = None  # "source X failed 3 polls in a row"


def streak_key(name: str) -> str:
    return f"poll:{name}:failing"


@dataclass(frozen=True, slots=True)
class FailureStreak:
    """The failed polls in a row of one source: since when, and whether the operator was told.
    Kept in the store beside the count, so a restart neither resets nor repeats an alert."""

    since: datetime  # when the first failed poll of the streak started
    alerted: bool = False

    def due(self, failures: int, now: datetime, alert_after: timedelta) -> bool:
        """Failed often enough AND long enough: 3 polls in a row take 3 minutes inside the
        publication window, and a CDN blip that short must not page anyone."""
        return failures >= FAILED_POLLS_BEFORE_ALERT and now - self.since >= alert_after

    def to_json(self) -> str:
        return json.dumps({"since": self.since.isoformat(), "alerted": self.alerted})

    @classmethod
    def from_json(
        cls, text: str | None, failures_before: int, now: datetime
    ) -> FailureStreak | None:
        """The stored streak; None when the source was not failing. A store written before
        streaks were kept has only the count: the streak starts now, alerted if the count had
        already reached the old alert."""
        try:
            data = json.loads(text) if text else None
            if isinstance(data, dict):
                return cls(datetime.fromisoformat(data["since"]), bool(data["alerted"]))
        except (ValueError, KeyError, TypeError):
            pass
        if failures_before == 0:
            return None
        return cls(now, alerted=failures_before >= FAILED_POLLS_BEFORE_ALERT)


def build_sources(poll_config: PollConfig, *, temp_dir: Path | None = None) -> dict[str, Source]:
    return {
        netflix_fetch.NAME: NetflixSource(poll_config.netflix, temp_dir=temp_dir),
        flixpatrol_fetch.NAME: FlixPatrolSource(poll_config.flixpatrol),
    }


@dataclass(slots=True)
class SourceFeed:
    """One poll of one source: what it yields goes through the one pipeline, and is counted."""

    name: str
    pipeline: Pipeline
    history: Storage | None = None  # for the checks of a page's charts against stored lists
    stats: PipelineStats = field(default_factory=PipelineStats)
    fetch_failures: list[str] = field(default_factory=list)  # "url: reason", after retries
    unchanged: list[str] = field(default_factory=list)  # URLs with nothing new (304 / same hash)
    fetched: int = 0  # bodies downloaded and handed to a parser
    _keys: list[ChartKey] | None = None  # the source's stored keys, read once per poll

    async def drain(self, items: SourceItems) -> None:
        """Take everything the source yields, in order. How the gate judged a `Charts` item goes
        back into the source at the `yield` that handed it over (it decides whether the body is
        remembered as processed); so does a broken chart stream (SourceError while the pipeline
        reads it)."""
        async with aclosing(items):
            item = await anext(items, None)
            while item is not None:
                try:
                    outcome = await self.take(item)
                except SourceError as exc:
                    item = await throw_into(items, exc)
                else:
                    item = await send_into(items, outcome)

    async def take(self, item: SourceItem) -> Outcome | None:
        """Deal with one item; for `Charts`, how the gate judged them."""
        if isinstance(item, Charts):
            judged = PipelineStats()
            charts = item.charts
            if isinstance(charts, list | tuple):
                charts = await self._against_other_categories(charts, judged)
            judged.add(await self.pipeline.process(charts, expected_period=item.expected_period))
            self.stats.add(judged)
            first = judged.rejections[0][1] if judged.rejections else None
            return Outcome(judged.accepted, judged.rejected, first)
        if isinstance(item, Refused):
            await self.refuse(item)
        elif isinstance(item, Fetched):
            self.fetched += 1
        else:
            log.info("%s: %s, skipped", item.result.url, item.result.unchanged_reason)
            self.unchanged.append(item.result.url)
        return None

    async def _against_other_categories(
        self, charts: Sequence[Chart], judged: PipelineStats
    ) -> list[Chart]:
        """A page's few charts (a streamed file is judged by its source instead), each against
        the newest stored list of its own category and of the others of its region: one closer
        to another category's list than to its own is that list under the wrong heading."""
        if self.history is None:
            return list(charts)
        kept: list[Chart] = []
        for chart in charts:
            reason = await self._other_category_reason(self.history, chart)
            if reason is None:
                kept.append(chart)
            else:
                log.info("rejected %s: %s", chart.label(), reason)
                await self.pipeline.reject(chart, reason, judged)
        return kept

    async def _other_category_reason(self, history: Storage, chart: Chart) -> str | None:
        own = await history.latest_chart(chart.key)
        if own is None or own.period >= chart.period:
            return None  # a first list, or a period already stored (the pipeline skips it)
        if self._keys is None:
            self._keys = await history.chart_keys(self.name)
        others: list[Chart] = []
        for key in self._keys:
            if key != chart.key and _same_region(key, chart):
                other = await history.latest_chart(key)
                if other is not None:
                    others.append(other)
        return closer_to_another_category(chart, own, others)

    async def refuse(self, refused: Refused) -> None:
        """Store a refused snapshot (no entries) for each chart the source should have given."""
        if refused.fetch_failure is not None:
            self.fetch_failures.append(refused.fetch_failure)
        for key in refused.keys:
            chart = Chart(key=key, period=refused.period, entries=())
            log.info("rejected %s: %s", chart.label(), refused.reason)
            await self.pipeline.reject(chart, refused.reason, self.stats)
        # Flush now: a rejection must be visible in `status` even if a later step crashes.
        self.stats.add(await self.pipeline.process(()))

    def report(self, error: str | None = None) -> SourceReport:
        return SourceReport(
            source=self.name,
            accepted=self.stats.accepted,
            rejected=self.stats.rejected,
            skipped=self.stats.skipped,
            events=self.stats.events,
            queued=self.stats.queued,
            fetched=self.fetched,
            unchanged=len(self.unchanged),
            rejections=list(self.stats.rejections),
            fetch_failures=list(self.fetch_failures),
            error=error,
        )


def _same_region(key: ChartKey, chart: Chart) -> bool:
    return (key.service, key.region, key.granularity) == (
        chart.key.service,
        chart.key.region,
        chart.key.granularity,
    )


class Poller:
    """Polls sources by name; safe to call from the scheduler and the CLI alike."""

    def __init__(
        self,
        storage: Storage,
        poll_config: PollConfig,
        diff_config: DiffConfig,
        *,
        http: HttpClient,
        output: PollOutput | None = None,
        clock: Clock = utc_now,
        temp_dir: Path | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._storage = storage
        self._metrics = metrics
        self.config = poll_config
        self._diff_config = diff_config
        self._http = http
        self._output = output or PollOutput()
        self._clock = clock
        self._sources = build_sources(poll_config, temp_dir=temp_dir)
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    async def poll_all(self, names: Sequence[str] | None = None) -> list[SourceReport]:
        """One pass, source after source (the enabled ones unless `names` are given)."""
        return [await self.poll(name) for name in names or self.config.enabled_sources()]

    def _source(self, name: str) -> Source:
        source = self._sources.get(name)
        if source is None:
            raise KeyError(f"unknown source {name!r}; known sources: {', '.join(SOURCE_NAMES)}")
        return source

    async def up_to_date(self, name: str) -> bool:
        """Whether the store holds everything `name` should have published by now."""
        return await self._source(name).up_to_date(self._storage, self._clock())

    async def poll(self, name: str) -> SourceReport:
        source = self._source(name)
        async with self._lock(name):
            now = self._clock()
            old_events: list[Event] = []

            async def hand_over(new_events: list[Event]) -> None:
                self._metrics.events_stored(new_events)
                old_events.extend(await self._deliver_fresh(new_events))

            # Live events: their deliveries are queued with them (run and poll --once alike).
            pipeline = Pipeline(
                self._storage, self._diff_config, queue_deliveries=True, sink=hand_over
            )
            feed = SourceFeed(name, pipeline, self._storage)
            fetcher = ConditionalFetcher(
                self._http, self._storage, self.config.settings(name).fetch
            )
            error: str | None = None
            try:
                # A burst whose queueing a dead process left half done is finished first.
                await self._storage.queue_unfinished()
                await feed.drain(source.poll(PollContext(self._storage, fetcher, now)))
            except Exception as exc:  # a bug must cost one poll, not the scheduler
                log.exception("%s: poll crashed", name)
                error = f"{type(exc).__name__}: {exc}"
            report = feed.report(error)
            self._metrics.charts_judged(name, report.accepted, report.rejected)
            # Each front end says what failed in one line (report.problem_line()); the log
            # keeps the detail for -v.
            if report.failed:
                log.info("%s; %s", report.summary_line(), " | ".join(report.reasons()[:3]))
            else:
                log.info("%s", report.summary_line())
            await self._deliver_catchup(old_events)
            await self._record(report, now)
            return report

    async def _deliver_fresh(self, events: list[Event]) -> tuple[Event, ...]:
        """Fresh events go out as soon as their batch is stored (a FlixPatrol page, a Netflix
        file), not at the end of the poll; the old ones are returned for the catch-up summary."""
        fold = fold_catchup(events, now=self._clock(), max_age=self.config.catchup_max_age)
        if fold.fresh and self._output.events is not None:
            await self._output.events(fold.fresh)
        return fold.summary.events if fold.summary is not None else ()

    async def _deliver_catchup(self, old_events: list[Event]) -> None:
        """Old events of the whole poll fold into one summary."""
        if not old_events:
            return
        log.info("catch-up: %d old events folded into one summary", len(old_events))
        if self._output.catchup is not None:
            await self._output.catchup(CatchupSummary(tuple(old_events)))

    async def _record(self, report: SourceReport, now: datetime) -> None:
        name = report.source
        before = int(await self._storage.get_meta(failures_key(name)) or 0)
        failures = before + 1 if report.failed else 0
        await self._storage.set_meta(failures_key(name), str(failures))
        last = LastPoll(now, not report.failed, report.summary_line(), failures)
        await self._storage.set_meta(last_poll_key(name), last.to_json())
        streak = FailureStreak.from_json(
            await self._storage.get_meta(streak_key(name)), before, now
        )
        if not report.failed:
            await self._storage.set_meta(streak_key(name), "")
            if streak is not None and streak.alerted:
                await self._alert(f"✅ top10bot: {name} recovered after {before} failed polls.")
            return
        streak = streak or FailureStreak(since=now)
        if not streak.alerted and streak.due(failures, now, self.config.alert_after):
            await self._alert(failure_alert(report, failures))
            streak = replace(streak, alerted=True)
        await self._storage.set_meta(streak_key(name), streak.to_json())

    async def _alert(self, text: str) -> None:
        log.error("operator alert: %s", text.splitlines()[0])
        if self._output.operator is not None:
            await self._output.operator(text)


# --------------------------------------------------------------------------- operator alerts


def operator_sink(
    admin_chat: str | None, notifiers: Iterable[Notifier], *, fallback: TextIO | None = None
) -> TextSink:
    """Operator alerts to `[admin] chat` ("console" or "<platform>:<chat id>"), else stderr.

    An admin chat whose platform is not running (no token) falls back to stderr and the log, so
    an alert is never lost silently.
    """
    by_platform = {notifier.platform: notifier for notifier in notifiers}
    platform, _, chat_id = (admin_chat or "console").partition(":")

    async def alert(text: str) -> None:
        notifier = by_platform.get(platform)
        if notifier is not None:
            try:
                for part in split_text(text, notifier.text_limit, notifier.text_length):
                    await notifier.send(chat_id or platform, part)
                return
            except Exception:
                log.exception("operator alert to %s failed", admin_chat)
        elif admin_chat and platform != "console":
            log.error("admin chat %s: no running %s adapter; alert on stderr", admin_chat, platform)
        stream = fallback or sys.stderr
        stream.write(text + "\n")
        stream.flush()

    return alert
