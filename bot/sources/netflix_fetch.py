"""Netflix's official Top 10 files, fetched live: global, per-country and all-time lists.

Netflix publishes every Tuesday (afternoon, US Pacific) the Monday–Sunday week before; polling
twice a day costs nothing because each file is fetched conditionally (304) and skipped when its
content hash has not changed. When a file did change, only the periods not stored yet are yielded
to the poller, oldest first — which is also how the bot catches up after being stopped: the files
hold every week since 2021, so whatever weeks were missed are simply the ones not stored.

- `all-weeks-countries.tsv` (~31 MB) is streamed to a temporary file and read from there in
  period order by `iter_countries_file_by_period`: the body is never held in memory.
- `most-popular.tsv` is undated and revised after the fact, so each changed fetch is stored as a
  snapshot dated with the UTC day of the fetch.
- A body that is not the file (HTML, `null`, empty, another header), that is far smaller than the
  median of the last bodies processed, that is cut short (a last row or chart incomplete) or does
  not continue the stored history (bot/sources/netflix_periods.py), or that could not be fetched
  is a rejected snapshot of every chart the file should have given, never an empty chart. Such a
  body is not remembered as processed: its validators are committed only after the poller said
  how the gate judged its charts (the `Outcome` a `yield Charts(...)` returns), and only when
  the gate took all of them and nothing of the body was missing or refused. It is remembered as
  refused instead: the next polls get a 304 or the same SHA-256 for it and refuse it again
  unread ("unchanged since refused: …"), each a failed poll, until the file changes. So is a
  body whose charts the gate rejected (all of them, or some when judged against a stored
  history, see `_settle`); only a first import partly rejected is read again next poll.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from bot.config import ConfigError
from bot.models import ALL_REGIONS, WORLD, Chart, ChartKey
from bot.poll_window import PollTiming
from bot.ports import Storage
from bot.sources import netflix
from bot.sources.errors import SourceError
from bot.sources.feed import (
    Charts,
    Fetched,
    Outcome,
    PollContext,
    Refused,
    SourceItems,
    Unchanged,
    relay,
)
from bot.sources.http import FetchError, FetchResult, FetchSettings
from bot.sources.netflix_periods import (
    NewPeriods,
    category_of,
    continuity_problem,
    missing_in_newest,
    periods_of,
    stored_latest,
)
from bot.sources.settings import SectionReader

log = logging.getLogger(__name__)

NAME: Final = "netflix"
DEFAULT_BASE_URL: Final = "https://www.netflix.com/tudum/top10/data/"
# UTC. Netflix publishes on Tuesday afternoons, US Pacific (about 21:00–01:00 UTC); a project
# polling daily saw the new week by Wednesday 13:00 UTC. Two polls a day catch it within hours.
DEFAULT_SCHEDULE: Final = ("0 14 * * *", "0 20 * * *")
# Inside it, every `window_interval` (60 s) until the new week is in: alerts within minutes.
DEFAULT_PUBLICATION_WINDOW: Final = ("tue 15:00-24:00",)
DEFAULT_TIMING: Final = PollTiming.of(DEFAULT_SCHEDULE, DEFAULT_PUBLICATION_WINDOW)

GLOBAL_CATEGORIES: Final = (
    "Films (English)",
    "Films (Non-English)",
    "TV (English)",
    "TV (Non-English)",
)
COUNTRY_CATEGORIES: Final = ("Films", "TV")
# The all-time lists' window since June 2023 (before: 28 days); names the charts of a failed fetch
# when no list has been stored yet.
MOST_POPULAR_DAYS: Final = 91
# How much of a downloaded file is read to recognise an error page instead of a TSV file.
_SNIFF_BYTES: Final = 65_536


class NetflixFile(StrEnum):
    GLOBAL = "global"
    COUNTRIES = "countries"
    MOST_POPULAR = "most-popular"


FILE_NAMES: Final[Mapping[NetflixFile, str]] = {
    NetflixFile.GLOBAL: netflix.GLOBAL_FILE,
    NetflixFile.COUNTRIES: netflix.COUNTRIES_FILE,
    NetflixFile.MOST_POPULAR: netflix.MOST_POPULAR_FILE,
}


@dataclass(frozen=True, slots=True)
class NetflixSettings:
    """`[sources.netflix]`."""

    enabled: bool = True
    base_url: str = DEFAULT_BASE_URL
    timing: PollTiming = DEFAULT_TIMING
    files: tuple[NetflixFile, ...] = tuple(NetflixFile)
    fetch: FetchSettings = field(default_factory=FetchSettings)

    @property
    def schedule(self) -> tuple[str, ...]:
        return self.timing.schedule

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> NetflixSettings:
        reader = SectionReader("sources.netflix", table)
        names = reader.strings("files", tuple(kind.value for kind in NetflixFile))
        try:
            files = tuple(dict.fromkeys(NetflixFile(name) for name in names))
        except ValueError:
            choices = ", ".join(kind.value for kind in NetflixFile)
            raise ConfigError(f"[sources.netflix] files: choose from {choices}") from None
        settings = cls(
            enabled=reader.boolean("enabled", True),
            base_url=reader.string("base_url", DEFAULT_BASE_URL),
            timing=PollTiming.read(reader, DEFAULT_SCHEDULE, DEFAULT_PUBLICATION_WINDOW),
            files=files,
            fetch=reader.fetch_settings(solver=False),
        )
        reader.finish()
        return settings


def file_url(base_url: str, file_name: str) -> str:
    return f"{base_url.rstrip('/')}/{file_name}"


def latest_published_week(today: date) -> date:
    """The Sunday ending the newest week Netflix should have published by `today`.

    A week (Monday–Sunday) comes out on the Tuesday after it: on a Tuesday that is the Sunday two
    days before, on a Monday the Sunday eight days before.
    """
    shifted = today - timedelta(days=2)
    return shifted - timedelta(days=(shifted.weekday() + 1) % 7)


def _family(category: str) -> tuple[str, str, str, Any]:
    return (netflix.SOURCE, netflix.SERVICE, category, "weekly")


class NetflixSource:
    """One poll: each configured file, fetched conditionally, its new periods yielded."""

    name = NAME

    def __init__(self, settings: NetflixSettings, *, temp_dir: Path | None = None) -> None:
        self.settings = settings
        self._temp_dir = temp_dir

    async def up_to_date(self, history: Storage, now: datetime) -> bool:
        """Every weekly chart family of the configured files holds the newest published week."""
        expected = latest_published_week(now.astimezone(UTC).date())
        categories = {
            NetflixFile.GLOBAL: GLOBAL_CATEGORIES,
            NetflixFile.COUNTRIES: COUNTRY_CATEGORIES,
        }
        for kind in self.settings.files:
            for category in categories.get(kind, ()):
                latest = await history.latest_period(_family(category))
                if latest is None or latest < expected:
                    return False
        return True

    def poll(self, context: PollContext) -> SourceItems:
        return relay(self._poll_file(context, kind) for kind in self.settings.files)

    def _poll_file(self, context: PollContext, kind: NetflixFile) -> SourceItems:
        url = file_url(self.settings.base_url, FILE_NAMES[kind])
        if kind is NetflixFile.GLOBAL:
            return self._poll_global(context, url)
        if kind is NetflixFile.COUNTRIES:
            return self._poll_countries(context, url)
        return self._poll_most_popular(context, url)

    # -- files ----------------------------------------------------------------------------------

    async def _poll_global(self, context: PollContext, url: str) -> SourceItems:
        keys = [ChartKey(NAME, netflix.SERVICE, WORLD, c, "weekly") for c in GLOBAL_CATEGORIES]
        expected = latest_published_week(context.today)
        result = await _fetch(context.fetcher.fetch_text(url), keys, expected)
        if not isinstance(result, FetchResult):
            yield result
            return
        yield Fetched(url)
        assert result.text is not None  # a changed body is always returned with its text
        stored = await stored_latest(context.history, NAME, GLOBAL_CATEGORIES, world=True)
        try:
            problem = netflix.body_problem(result.text) or result.shrink_problem()
            if problem is not None:
                raise SourceError(problem, source=NAME, what=url)
            in_file_order = list(netflix.parse_global(result.text, what=url))
            charts = netflix.sorted_by_period(in_file_order)
            by_period = _categories_by_period(charts)
            problem = _global_cut_problem(result.text, in_file_order) or continuity_problem(
                periods_of(stored), by_period, category_of
            )
            if problem is not None:
                raise SourceError(problem, source=NAME, what=url)
        except SourceError as exc:
            await context.fetcher.refuse(result, exc.reason)
            yield Refused(tuple(keys), expected, exc.reason)
            return
        selection = NewPeriods(stored, GLOBAL_CATEGORIES, context.today)
        missing = missing_in_newest(periods_of(stored), by_period, category_of)
        outcome = yield Charts(selection.select(charts))
        for item in [*missing, *selection.refused]:
            yield item
        await _settle(context, result, outcome, [*missing, *selection.refused], bool(stored))

    async def _poll_countries(self, context: PollContext, url: str) -> SourceItems:
        keys = [
            ChartKey(NAME, netflix.SERVICE, ALL_REGIONS, c, "weekly") for c in COUNTRY_CATEGORIES
        ]
        expected = latest_published_week(context.today)
        with tempfile.TemporaryDirectory(prefix="top10bot-netflix-", dir=self._temp_dir) as tmp:
            path = Path(tmp) / netflix.COUNTRIES_FILE
            result = await _fetch(context.fetcher.fetch_to_file(url, path), keys, expected)
            if not isinstance(result, FetchResult):
                yield result
                return
            yield Fetched(url)
            log.info("%s: %d bytes downloaded", url, result.size)
            stored = await stored_latest(context.history, NAME, COUNTRY_CATEGORIES, world=False)
            selection = NewPeriods(stored, COUNTRY_CATEGORIES, context.today)
            missing: list[Refused] = []
            outcome: Outcome | None = None
            try:
                problem = _file_problem(path) or result.shrink_problem()
                if problem is not None:
                    raise SourceError(problem, source=NAME, what=url)
                scan = netflix.scan_countries_file(path)
                by_period = scan.countries_by_week()
                problem = scan.cut_short or continuity_problem(periods_of(stored), by_period)
                if problem is not None:
                    raise SourceError(problem, source=NAME, what=url)
                missing = missing_in_newest(periods_of(stored), by_period)
                # Streamed from disk in period order: one (country, week) block in memory at a time.
                outcome = yield Charts(selection.select(scan.charts()))
            except SourceError as exc:
                await context.fetcher.refuse(result, exc.reason)
                yield Refused(tuple(keys), expected, exc.reason)
                return
        for item in [*missing, *selection.refused]:
            yield item
        await _settle(context, result, outcome, [*missing, *selection.refused], bool(stored))

    async def _poll_most_popular(self, context: PollContext, url: str) -> SourceItems:
        snapshot = context.today
        keys = await _most_popular_keys(context)
        result = await _fetch(context.fetcher.fetch_text(url), keys, snapshot)
        if not isinstance(result, FetchResult):
            yield result
            return
        yield Fetched(url)
        assert result.text is not None
        try:
            problem = netflix.body_problem(result.text) or result.shrink_problem()
            if problem is not None:
                raise SourceError(problem, source=NAME, what=url)
            charts = netflix.parse_most_popular(result.text, snapshot, what=url)
        except SourceError as exc:
            await context.fetcher.refuse(result, exc.reason)
            yield Refused(tuple(keys), snapshot, exc.reason)
            return
        # A list Netflix did not revise is not a new snapshot: the pipeline skips it, as it skips
        # a snapshot of a day already stored (the stored one still holds).
        outcome = yield Charts(sorted(charts, key=lambda chart: chart.key))
        await _settle(context, result, outcome, [], judged_against_history=True)


# --------------------------------------------------------------------------- helpers


async def _fetch(
    fetching: Awaitable[FetchResult], keys: Iterable[ChartKey], period: date
) -> FetchResult | Refused | Unchanged:
    """The changed body, or what to yield instead: the refused charts of a failed fetch or of a
    body refused before (not read again), or the news that nothing changed."""
    try:
        result = await fetching
    except FetchError as exc:
        return Refused.fetch_failed(keys, period, exc)
    if result.refused_before is not None:
        log.info("%s: %s", result.url, result.refused_again_reason)
        return Refused(tuple(keys), period, result.refused_again_reason)
    return Unchanged(result) if result.unchanged else result


async def _settle(
    context: PollContext,
    result: FetchResult,
    outcome: Outcome | None,
    refused: list[Refused],
    judged_against_history: bool,
) -> None:
    """Remember a body by how its charts fared: processed (the next poll gets a 304 / the same
    hash, "unchanged") only when the gate took every chart handed over and none was missing or
    refused by the source. Otherwise it is remembered as refused, so the same body fails each
    poll unread ("unchanged since refused: …") until the file changes, when
    - the gate took none of its charts, or
    - it was judged against a stored history: judged again, the same bytes would meet a history
      they have partly moved themselves, and checks that compare with last week's lists (a
      country's list copied from another's) could then let through what they refused.
    A first import partly rejected is read again instead: its rejected old charts are then no
    longer new (a gap in an older week stays closed) and the body is processed."""
    rejected = outcome is not None and outcome.rejected > 0
    if not (rejected or refused):
        await context.fetcher.commit(result)
        return
    if (outcome is not None and outcome.all_rejected) or judged_against_history:
        first = outcome.first_rejection if outcome is not None else None
        await context.fetcher.refuse(result, first or refused[0].reason)


def _file_problem(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    return netflix.body_problem(head.decode("utf-8", errors="replace"))


def _categories_by_period(charts: Iterable[Chart]) -> dict[date, set[str]]:
    """The categories of each period (the global file's charts are told apart by category)."""
    found: dict[date, set[str]] = {}
    for chart in charts:
        found.setdefault(chart.period, set()).add(chart.key.category)
    return found


def _global_cut_problem(text: str, in_file_order: list[Chart]) -> str | None:
    """A global file ends with its oldest week: a cut leaves a short last line or last chart."""
    lines = text.rstrip("\n").split("\n")
    header = next((line for line in lines if line.lstrip("\ufeff").strip()), "")
    problem = netflix.cut_short_problem(lines[-1], len(lines), header.count("\t") + 1)
    last = in_file_order[-1] if in_file_order else None
    if problem is None and last is not None and last.rows < last.expected_size:
        return f"file cut short: its last chart ({last.label()}) has {last.rows} rows"
    return problem


async def _most_popular_keys(context: PollContext) -> list[ChartKey]:
    """The all-time charts a failed fetch should have given: those stored before, else the
    categories of the current (91-day) form."""
    stored = await context.history.chart_keys(NAME)
    known = [key for key in stored if key.granularity == "alltime"]
    if known:
        return known
    return [
        ChartKey(NAME, netflix.SERVICE, WORLD, f"{c} · first {MOST_POPULAR_DAYS} days", "alltime")
        for c in GLOBAL_CATEGORIES
    ]
