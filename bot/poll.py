"""One poll pass over the live sources: fetch, gate, store, diff — and tell the right people.

- Each source is polled under its own lock, with its own `Pipeline`, so a scheduled poll and the
  start-up catch-up never interleave for one source, and a broken source never stops another.
- A poll fails when a fetch failed or a chart was rejected. Three failed polls in a row of one
  source send one operator alert (to `[admin] chat`, else the console); the first good poll after
  that says the source recovered. The count lives in the store, so restarts do not reset it.
- Catch-up: events of periods older than `[alerts] catchup_max_age` (a backfill after downtime)
  are not sent one by one; they fold into one summary per chat (`fold_catchup`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, Final, NamedTuple, Protocol, TextIO

import aiohttp

from bot.config import Config, ConfigError, section
from bot.delivery.text import split_text
from bot.diff import DiffConfig
from bot.events import Event, EventType
from bot.pipeline import Pipeline
from bot.ports import Notifier, Storage
from bot.render import event_line
from bot.sources import flixpatrol_fetch, netflix_fetch
from bot.sources.fetch import FetchSettings, HttpFetcher, SourceRun, create_session
from bot.sources.flixpatrol_fetch import FlixPatrolSettings, FlixPatrolSource
from bot.sources.netflix_fetch import NetflixSettings, NetflixSource

log = logging.getLogger(__name__)

SOURCE_NAMES: Final = (netflix_fetch.NAME, flixpatrol_fetch.NAME)
FAILED_POLLS_BEFORE_ALERT: Final = 3
# A weekly Netflix chart (week ending Sunday) comes out on Tuesday and is polled by Wednesday:
# about 2.6 days after its period ended. Four days leaves room for a late publication; anything
# older comes from a backfill after downtime and is summarised instead of sent one by one.
DEFAULT_CATCHUP_MAX_AGE: Final = timedelta(days=4)
CATCHUP_HIGHLIGHTS: Final = 5

_DURATION = re.compile(r"^\s*(?P<amount>\d+)\s*(?P<unit>[smhdw])\s*$")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

Clock = Callable[[], datetime]
TextSink = Callable[[str], Awaitable[None]]
EventSink = Callable[[list[Event]], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- configuration


def parse_duration(value: Any, key: str) -> timedelta:
    """'4d', '36h', '90m', '2w', '3600s' (or a number of seconds) → timedelta."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=int(match["amount"]) * _UNIT_SECONDS[match["unit"]])
    raise ConfigError(f'{key} must be a duration such as "4d", "36h" or "90m", got {value!r}')


class SourceBasics(NamedTuple):
    """What every source's table says, whatever the source."""

    enabled: bool
    schedule: tuple[str, ...]  # crontab lines, UTC
    fetch: FetchSettings


@dataclass(frozen=True, slots=True)
class PollConfig:
    netflix: NetflixSettings = field(default_factory=NetflixSettings)
    flixpatrol: FlixPatrolSettings = field(default_factory=FlixPatrolSettings)
    catchup_max_age: timedelta = DEFAULT_CATCHUP_MAX_AGE
    # "console", or "<platform>:<destination>" (e.g. "telegram:-100123", "discord:1234567890").
    admin_chat: str | None = None

    def enabled(self, name: str) -> bool:
        return self.settings(name).enabled

    def settings(self, name: str) -> SourceBasics:
        if name == netflix_fetch.NAME:
            n = self.netflix
            return SourceBasics(n.enabled, n.schedule, n.fetch)
        if name == flixpatrol_fetch.NAME:
            f = self.flixpatrol
            return SourceBasics(f.enabled, f.schedule, f.fetch)
        raise KeyError(name)

    def enabled_sources(self) -> list[str]:
        return [name for name in SOURCE_NAMES if self.enabled(name)]

    def schedules(self, names: Sequence[str] | None = None) -> dict[str, tuple[str, ...]]:
        return {name: self.settings(name).schedule for name in names or self.enabled_sources()}


def load_poll_config(config: Config) -> PollConfig:
    """Read `[sources.*]`, `[alerts] catchup_max_age` and `[admin] chat`; fail fast on typos."""
    sources = config.sections.get("sources", {})
    if not isinstance(sources, dict):
        raise ConfigError("[sources] must be a table of [sources.<name>] tables")
    unknown = sorted(set(sources) - set(SOURCE_NAMES))
    if unknown:
        raise ConfigError(
            f"unknown source [sources.{unknown[0]}]; known sources: {', '.join(SOURCE_NAMES)}"
        )
    alerts = section(config, "alerts")
    admin = section(config, "admin")
    chat = admin.get("chat")
    if chat is not None and (not isinstance(chat, str) or not chat.strip()):
        raise ConfigError('[admin] chat must be "console" or "<platform>:<chat id>"')
    return PollConfig(
        netflix=NetflixSettings.from_table(section(config, "sources.netflix")),
        flixpatrol=FlixPatrolSettings.from_table(section(config, "sources.flixpatrol")),
        catchup_max_age=parse_duration(alerts["catchup_max_age"], "[alerts] catchup_max_age")
        if "catchup_max_age" in alerts
        else DEFAULT_CATCHUP_MAX_AGE,
        admin_chat=chat.strip() if isinstance(chat, str) else None,
    )


# --------------------------------------------------------------------------- reports


@dataclass(slots=True)
class SourceReport:
    """What one poll of one source did."""

    source: str
    accepted: int = 0
    rejected: int = 0
    skipped: int = 0
    events: int = 0
    fetched: int = 0
    unchanged: int = 0
    rejections: list[tuple[str, str]] = field(default_factory=list)  # (chart label, reason)
    fetch_failures: list[str] = field(default_factory=list)
    error: str | None = None  # an unexpected exception (a bug), logged with its traceback

    @classmethod
    def of_run(cls, run: SourceRun, error: str | None = None) -> SourceReport:
        stats = run.stats
        return cls(
            source=run.source,
            accepted=stats.accepted,
            rejected=stats.rejected,
            skipped=stats.skipped,
            events=stats.events,
            fetched=run.fetched,
            unchanged=len(run.unchanged),
            rejections=list(stats.rejections),
            fetch_failures=list(run.fetch_failures),
            error=error,
        )

    @property
    def failed(self) -> bool:
        return bool(self.fetch_failures or self.rejected or self.error)

    def summary_line(self) -> str:
        """'netflix: 3 charts accepted, 0 rejected, 42 events' (+ what else is worth knowing)."""
        line = (
            f"{self.source}: {self.accepted} {'chart' if self.accepted == 1 else 'charts'}"
            f" accepted, {self.rejected} rejected, {self.events}"
            f" {'event' if self.events == 1 else 'events'}"
        )
        notes: list[str] = []
        if self.fetch_failures:
            n = len(self.fetch_failures)
            notes.append(f"{n} {'fetch' if n == 1 else 'fetches'} failed")
        if self.unchanged:
            notes.append(f"{self.unchanged} unchanged")
        if self.error:
            notes.append(f"error: {self.error}")
        return f"{line} ({'; '.join(notes)})" if notes else line


# --------------------------------------------------------------------------- catch-up folding

_TYPE_LABELS: Final[dict[EventType, str]] = {
    EventType.NEW_NUMBER_ONE: "new #1",
    EventType.LOST_NUMBER_ONE: "lost #1",
    EventType.ENTERED: "entries",
    EventType.LEFT: "exits",
    EventType.CLIMBED: "big climbs",
    EventType.NUMBER_ONE_STREAK: "#1 streaks",
    EventType.TOP10_STREAK: "Top 10 streaks",
    EventType.COUNTRIES_AT_NUMBER_ONE: "#1 in many countries",
    EventType.RECORD_BROKEN: "records broken",
    EventType.HOURS_MILESTONE: "hours milestones",
    EventType.ALL_TIME_LIST: "all-time list moves",
}


def event_age(event: Event, now: datetime) -> timedelta:
    """How long ago the event's period ended (a day's end, or the Sunday ending a week)."""
    ended = datetime.combine(event.period + timedelta(days=1), time.min, UTC)
    return now - ended


@dataclass(frozen=True, slots=True)
class CatchupSummary:
    """Old events (from a backfill) folded into one message."""

    events: tuple[Event, ...]

    def text(self, highlights: int = CATCHUP_HIGHLIGHTS) -> str:
        periods = sorted({event.period for event in self.events})
        span = (
            periods[0].isoformat()
            if len(periods) == 1
            else f"{periods[0].isoformat()} to {periods[-1].isoformat()}"
        )
        n = len(self.events)
        lines = [
            f"Catch-up: {n} {'event' if n == 1 else 'events'} from {span} while the bot was away."
        ]
        counts = Counter(event.type for event in self.events)
        lines.append(
            ", ".join(
                f"{counts[kind]} {_TYPE_LABELS[kind]}"
                for kind in sorted(counts, key=lambda k: (-counts[k], k.value))
            )
        )
        best = sorted(self.events, key=lambda e: (-e.importance, -e.period.toordinal(), e.key))
        lines.extend(f"• {event_line(event)}" for event in best[:highlights])
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class CatchupFold:
    fresh: list[Event]  # send one by one
    summary: CatchupSummary | None  # send once, instead of the old events


def fold_catchup(events: Sequence[Event], *, now: datetime, max_age: timedelta) -> CatchupFold:
    """Split one chat's events: recent ones stay, older ones fold into one summary."""
    fresh = [event for event in events if event_age(event, now) <= max_age]
    old = tuple(event for event in events if event_age(event, now) > max_age)
    return CatchupFold(fresh=fresh, summary=CatchupSummary(old) if old else None)


def fold_catchup_per_chat(
    events_by_chat: Mapping[str, Sequence[Event]], *, now: datetime, max_age: timedelta
) -> dict[str, CatchupFold]:
    """`fold_catchup` for every chat: each chat gets at most one summary."""
    return {
        chat: fold_catchup(events, now=now, max_age=max_age)
        for chat, events in events_by_chat.items()
    }


# --------------------------------------------------------------------------- polling


class PollSource(Protocol):
    name: str

    async def poll(self, run: SourceRun) -> None: ...


@dataclass(frozen=True, slots=True)
class PollOutput:
    """Where a poll's news goes. Until the delivery engine routes events to subscribed chats,
    the composition root points these at the console (or a log)."""

    events: EventSink | None = None  # fresh events, one message each
    catchup: Callable[[CatchupSummary], Awaitable[None]] | None = None
    operator: TextSink | None = None  # "source X failed 3 polls in a row"


def _failures_key(name: str) -> str:
    return f"poll:{name}:failures"


def last_poll_key(name: str) -> str:
    return f"poll:{name}:last"


@dataclass(frozen=True, slots=True)
class LastPoll:
    at: datetime
    ok: bool
    summary: str
    failures_in_a_row: int

    def to_json(self) -> str:
        return json.dumps(
            {
                "at": self.at.isoformat(),
                "ok": self.ok,
                "summary": self.summary,
                "failures_in_a_row": self.failures_in_a_row,
            }
        )

    @classmethod
    def from_json(cls, text: str | None) -> LastPoll | None:
        if not text:
            return None
        try:
            data = json.loads(text)
            return cls(
                at=datetime.fromisoformat(data["at"]),
                ok=bool(data["ok"]),
                summary=str(data["summary"]),
                failures_in_a_row=int(data["failures_in_a_row"]),
            )
        except (ValueError, KeyError, TypeError):
            return None


def build_sources(
    poll_config: PollConfig, *, temp_dir: Path | None = None
) -> dict[str, PollSource]:
    return {
        netflix_fetch.NAME: NetflixSource(poll_config.netflix, temp_dir=temp_dir),
        flixpatrol_fetch.NAME: FlixPatrolSource(poll_config.flixpatrol),
    }


class Poller:
    """Polls sources by name; safe to call from the scheduler and the CLI alike."""

    def __init__(
        self,
        storage: Storage,
        poll_config: PollConfig,
        diff_config: DiffConfig,
        *,
        session: aiohttp.ClientSession,
        output: PollOutput | None = None,
        clock: Clock = utc_now,
        temp_dir: Path | None = None,
    ) -> None:
        self._storage = storage
        self.config = poll_config
        self._diff_config = diff_config
        self._session = session
        self._output = output or PollOutput()
        self._clock = clock
        self._sources = build_sources(poll_config, temp_dir=temp_dir)
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, name: str) -> asyncio.Lock:
        return self._locks.setdefault(name, asyncio.Lock())

    async def poll_all(self, names: Sequence[str] | None = None) -> list[SourceReport]:
        """One pass, source after source (the enabled ones unless `names` are given)."""
        return [await self.poll(name) for name in names or self.config.enabled_sources()]

    async def poll(self, name: str) -> SourceReport:
        source = self._sources.get(name)
        if source is None:
            raise KeyError(f"unknown source {name!r}; known sources: {', '.join(SOURCE_NAMES)}")
        async with self._lock(name):
            now = self._clock()
            events: list[Event] = []

            async def collect(new_events: list[Event]) -> None:
                events.extend(new_events)

            run = SourceRun(
                source=name,
                storage=self._storage,
                pipeline=Pipeline(self._storage, self._diff_config, sink=collect),
                fetcher=HttpFetcher(self._session, self._storage, self.config.settings(name).fetch),
                now=now,
            )
            error: str | None = None
            try:
                await source.poll(run)
            except Exception as exc:  # a bug must cost one poll, not the scheduler
                log.exception("%s: poll crashed", name)
                error = f"{type(exc).__name__}: {exc}"
            report = SourceReport.of_run(run, error)
            if report.failed:
                reasons = [*report.fetch_failures, *(f"{c}: {r}" for c, r in report.rejections)]
                log.warning("%s; %s", report.summary_line(), " | ".join(reasons[:3]))
            else:
                log.info("%s", report.summary_line())
            await self._deliver(events)
            await self._record(report, now)
            return report

    async def _deliver(self, events: list[Event]) -> None:
        if not events:
            return
        fold = fold_catchup(events, now=self._clock(), max_age=self.config.catchup_max_age)
        if fold.summary is not None:
            log.info("catch-up: %d old events folded into one summary", len(fold.summary.events))
            if self._output.catchup is not None:
                await self._output.catchup(fold.summary)
        if fold.fresh and self._output.events is not None:
            await self._output.events(fold.fresh)

    async def _record(self, report: SourceReport, now: datetime) -> None:
        name = report.source
        before = int(await self._storage.get_meta(_failures_key(name)) or 0)
        failures = before + 1 if report.failed else 0
        await self._storage.set_meta(_failures_key(name), str(failures))
        last = LastPoll(now, not report.failed, report.summary_line(), failures)
        await self._storage.set_meta(last_poll_key(name), last.to_json())
        if failures == FAILED_POLLS_BEFORE_ALERT:
            await self._alert(failure_alert(report, failures))
        elif failures == 0 and before >= FAILED_POLLS_BEFORE_ALERT:
            await self._alert(f"✅ top10bot: {name} recovered after {before} failed polls.")

    async def _alert(self, text: str) -> None:
        log.error("operator alert: %s", text.splitlines()[0])
        if self._output.operator is not None:
            await self._output.operator(text)


def failure_alert(report: SourceReport, failures: int) -> str:
    lines = [
        f"⚠ top10bot: {report.source} failed {failures} polls in a row; no alerts come from it"
        " until it recovers.",
        f"Last poll: {report.summary_line()}",
    ]
    reasons = [*report.fetch_failures, *(f"{label}: {why}" for label, why in report.rejections)]
    lines.extend(f"• {reason}" for reason in reasons[:5])
    if len(reasons) > 5:
        lines.append(f"• … and {len(reasons) - 5} more (see `top10bot status`)")
    return "\n".join(lines)


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


# --------------------------------------------------------------------------- CLI


def print_output(out: TextIO, err: TextIO) -> PollOutput:
    """Events and summaries on stdout, operator alerts on stderr (the console as admin chat)."""

    async def events(new_events: list[Event]) -> None:
        for event in new_events:
            out.write(event_line(event) + "\n")
        out.flush()

    async def catchup(summary: CatchupSummary) -> None:
        out.write(summary.text() + "\n")
        out.flush()

    async def operator(text: str) -> None:
        err.write(text + "\n")
        err.flush()

    return PollOutput(events=events, catchup=catchup, operator=operator)


def resolve_source_names(poll_config: PollConfig, source: str | None) -> list[str]:
    """The sources a CLI pass covers: one named explicitly (even if disabled), else the enabled."""
    if source is None:
        return poll_config.enabled_sources()
    if source not in SOURCE_NAMES:
        raise ConfigError(f"unknown source {source!r}; known sources: {', '.join(SOURCE_NAMES)}")
    if not poll_config.enabled(source):
        log.warning("%s is disabled in the config; polling it because it was named", source)
    return [source]


async def poll_once_command(
    config: Config,
    storage: Storage,
    *,
    source: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    clock: Clock = utc_now,
) -> int:
    """`top10bot poll --once`: one pass, one summary line per source; 1 if anything failed."""
    stdout, stderr = out or sys.stdout, err or sys.stderr
    poll_config = load_poll_config(config)
    names = resolve_source_names(poll_config, source)
    if not names:
        stderr.write(
            "no source is enabled: set enabled = true in [sources.netflix] or "
            "[sources.flixpatrol], or name one with --source\n"
        )
        return 2
    async with create_session() as session:
        poller = Poller(
            storage,
            poll_config,
            config.diff,
            session=session,
            output=print_output(stdout, stderr),
            clock=clock,
        )
        reports = await poller.poll_all(names)
    for report in reports:
        for label, reason in report.rejections:
            stderr.write(f"rejected: {label}: {reason}\n")
    for report in reports:
        stdout.write(report.summary_line() + "\n")
    stdout.flush()
    return 1 if any(report.failed for report in reports) else 0
