"""FlixPatrol daily Top 10 pages, fetched live: service × country, world points, all services.

FlixPatrol publishes only the previous day's lists (since May 2025), so a poll asks for days up to
yesterday (UTC). Each page is fetched for the days after the newest one stored for it, oldest
first, going back at most `backfill_days`: a normal daily poll fetches one day per page, a poll
after an outage fetches every missed day, and a day that was rejected is not fetched again once a
later day has been accepted (the diff engine never goes back in time).

The pages of one day are fetched concurrently (`pages_in_flight`), their starts paced per host
(`request_interval`, bot/sources/pacing.py), and each page goes through the pipeline as soon as
it is read: its alerts are queued before the last page of the day is in. Each page is its own
batch, so the gate's cross-chart checks (a list identical to another region's) see the stored
charts of the pages before it, not those still in flight.

Every way a page can fail — a fetch error after retries, HTTP 200 "Page Not Found", a challenge
page, a redirect to another day, a page with no list — is stored as a rejected snapshot of that
page (category `page`) with its reason; a list that is there but broken (short table, another
date) is rejected by the gate as its own chart. Neither produces an event.

Since mid-2026 Cloudflare challenges non-browser clients on every page: configure `solver_url`
(a FlareSolverr-style `/v1` endpoint) or `proxy`, or the pages will be rejected as challenges.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import urlparse

from bot.config import ConfigError
from bot.models import WORLD, Chart, ChartKey
from bot.poll_window import PollTiming
from bot.ports import Storage
from bot.sources import flixpatrol
from bot.sources.errors import SourceError
from bot.sources.feed import Charts, Fetched, PollContext, Refused, SourceItems
from bot.sources.flixpatrol import PageRequest, flixpatrol_url, parse_flixpatrol_page
from bot.sources.http import FetchError, FetchResult, FetchSettings
from bot.sources.pacing import HostPacer
from bot.sources.regions import flixpatrol_slug
from bot.sources.settings import SectionReader

log = logging.getLogger(__name__)

NAME: Final = flixpatrol.SOURCE
DEFAULT_BASE_URL: Final = "https://flixpatrol.com/"
# UTC: yesterday's lists are complete by the early morning.
DEFAULT_SCHEDULE: Final = ("0 6 * * *",)
DEFAULT_TIMING: Final = PollTiming.of(DEFAULT_SCHEDULE)
DEFAULT_SERVICES: Final = ("netflix",)
DEFAULT_COUNTRIES: Final = ("US",)
DEFAULT_BACKFILL_DAYS: Final = 7
# Seconds between the starts of two requests to one host: one polite client, never a burst.
DEFAULT_REQUEST_INTERVAL: Final = 2.0
# Pages fetched at once (each start still paced by request_interval): a solver takes seconds
# per page, so several in flight keep the pace without waiting for each answer.
DEFAULT_PAGES_IN_FLIGHT: Final = 4

# The lists a user picks (config `lists`) and the stored categories each one covers.
LISTS: Final = ("Movies", "TV Shows", "Kids", "Overall")
LIST_OF_CATEGORY: Final[dict[str, str]] = {
    "Movies": "Movies",
    "TV Shows": "TV Shows",
    "Kids Movies": "Kids",
    "Kids TV Shows": "Kids",
    "Overall": "Overall",
    "Overall (Amazon Channels)": "Overall",
}
# Category of the rejected snapshot stored when a whole page fails (its lists are unknown then).
PAGE_CATEGORY: Final = "page"
_SERVICE_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def list_name(category: str) -> str:
    """Stored category → the configurable list it belongs to ("Kids TV Shows" → "Kids")."""
    return LIST_OF_CATEGORY.get(category, category)


@dataclass(frozen=True, slots=True)
class FlixPatrolSettings:
    """`[sources.flixpatrol]`."""

    # Off unless asked for: FlixPatrol challenges plain HTTP clients, so it needs a solver/proxy.
    enabled: bool = False
    base_url: str = DEFAULT_BASE_URL
    timing: PollTiming = DEFAULT_TIMING
    services: tuple[str, ...] = DEFAULT_SERVICES
    countries: tuple[str, ...] = DEFAULT_COUNTRIES  # ISO 3166-1 alpha-2
    lists: tuple[str, ...] = LISTS
    world: bool = True  # the worldwide points chart of each service
    streaming: bool = False  # the all-services page of each country
    backfill_days: int = DEFAULT_BACKFILL_DAYS
    request_interval: float = DEFAULT_REQUEST_INTERVAL
    pages_in_flight: int = DEFAULT_PAGES_IN_FLIGHT
    fetch: FetchSettings = field(default_factory=FetchSettings)

    @property
    def schedule(self) -> tuple[str, ...]:
        return self.timing.schedule

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> FlixPatrolSettings:
        section = "sources.flixpatrol"
        reader = SectionReader(section, table)
        services = tuple(
            dict.fromkeys(s.strip().lower() for s in reader.strings("services", DEFAULT_SERVICES))
        )
        for service in services:
            if not _SERVICE_SLUG.match(service):
                raise ConfigError(
                    f"[{section}] services: {service!r} is not a FlixPatrol service slug"
                    " (lower-case words joined by '-', e.g. 'hbo-max')"
                )
        countries: list[str] = []
        for code in reader.strings("countries", DEFAULT_COUNTRIES, allow_empty=True):
            upper = code.strip().upper()
            if upper == WORLD or len(upper) != 2:
                raise ConfigError(
                    f"[{section}] countries: {code!r} is not an ISO 3166-1 alpha-2 code"
                    " (the worldwide chart is `world = true`)"
                )
            try:
                flixpatrol_slug(upper)
            except ValueError:
                raise ConfigError(f"[{section}] countries: unknown country code {code!r}") from None
            if upper not in countries:
                countries.append(upper)
        lists: list[str] = []
        by_folded = {name.casefold(): name for name in LISTS}
        for name in reader.strings("lists", LISTS):
            canonical = by_folded.get(name.strip().casefold())
            if canonical is None:
                raise ConfigError(f"[{section}] lists: {name!r}; choose from {', '.join(LISTS)}")
            if canonical not in lists:
                lists.append(canonical)
        settings = cls(
            enabled=reader.boolean("enabled", False),
            base_url=reader.string("base_url", DEFAULT_BASE_URL),
            timing=PollTiming.read(reader, DEFAULT_SCHEDULE, ()),
            services=services,
            countries=tuple(countries),
            lists=tuple(lists),
            world=reader.boolean("world", True),
            streaming=reader.boolean("streaming", False),
            backfill_days=reader.integer("backfill_days", DEFAULT_BACKFILL_DAYS, minimum=1),
            request_interval=reader.number("request_interval", DEFAULT_REQUEST_INTERVAL),
            pages_in_flight=reader.integer("pages_in_flight", DEFAULT_PAGES_IN_FLIGHT, minimum=1),
            fetch=reader.fetch_settings(solver=True),
        )
        reader.finish()
        return settings


@dataclass(frozen=True, slots=True)
class PageTarget:
    """A page fetched every day: a service's lists in a region, or a country's all-services page."""

    kind: Literal["service", "streaming"]
    service: str | None
    region: str

    def request(self, day: date) -> PageRequest:
        return PageRequest(kind=self.kind, service=self.service, region=self.region, day=day)

    def url(self, base_url: str, day: date) -> str:
        return flixpatrol_url(base_url, self.service, self.region, day)

    def page_key(self) -> ChartKey:
        """The key a failed fetch of this page is rejected under."""
        service = self.service or flixpatrol.STREAMING_PAGE
        return ChartKey(NAME, service, self.region, PAGE_CATEGORY, "daily")


class FlixPatrolSource:
    """One poll: every configured page, for each day from its first missing one to yesterday."""

    name = NAME

    def __init__(
        self,
        settings: FlixPatrolSettings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._pacer = HostPacer(settings.request_interval, sleep=sleep)

    def targets(self) -> list[PageTarget]:
        s = self.settings
        targets = [
            PageTarget("service", service, country)
            for service in s.services
            for country in s.countries
        ]
        if s.world:
            targets.extend(PageTarget("service", service, WORLD) for service in s.services)
        if s.streaming:
            targets.extend(PageTarget("streaming", None, country) for country in s.countries)
        return targets

    def _covers(self, target: PageTarget, key: ChartKey) -> bool:
        """Whether a stored chart key comes from this page."""
        if key.region != target.region or key.category == PAGE_CATEGORY:
            return False
        if list_name(key.category) not in self.settings.lists:
            return False
        if target.kind == "service":
            return key.service == target.service
        return key.service not in self.settings.services

    async def _done_until(
        self, history: Storage, target: PageTarget, known: Iterable[ChartKey]
    ) -> date | None:
        """The newest day every current list of this page was accepted for: a list rejected on
        the newest day (the day before it still accepted) brings the page back for that day."""
        latest: list[date] = []
        for key in known:
            if not self._covers(target, key):
                continue
            chart = await history.latest_chart(key)
            if chart is not None:
                latest.append(chart.period)
        if not latest:
            return None
        newest = max(latest)
        # A list last seen before the day before is gone from the page, not rejected.
        return min(day for day in latest if day >= newest - timedelta(days=1))

    async def pending_pages(self, history: Storage, today: date) -> dict[PageTarget, date]:
        """Each page with days still to fetch, and the first of them (within `backfill_days`)."""
        yesterday = today - timedelta(days=1)
        oldest_allowed = yesterday - timedelta(days=self.settings.backfill_days - 1)
        known = await history.chart_keys(NAME)
        starts: dict[PageTarget, date] = {}
        for target in self.targets():
            done = await self._done_until(history, target, known)
            start = (
                oldest_allowed if done is None else max(oldest_allowed, done + timedelta(days=1))
            )
            if start <= yesterday:
                starts[target] = start
        return starts

    async def up_to_date(self, history: Storage, now: datetime) -> bool:
        return not await self.pending_pages(history, now.astimezone(UTC).date())

    async def poll(self, context: PollContext) -> SourceItems:
        """Day after day, oldest first; the pages of one day are fetched concurrently and each
        is handed over as soon as it is read, so its events go out before the last page is in.
        Days stay in order: a list's history (and "#1 in N countries") never goes back."""
        yesterday = context.today - timedelta(days=1)
        starts = await self.pending_pages(context.history, context.today)
        if not starts:
            log.info("flixpatrol: every page is up to date (%s)", yesterday.isoformat())
            return
        in_flight = asyncio.Semaphore(self.settings.pages_in_flight)
        day = min(starts.values())
        while day <= yesterday:
            targets = [target for target, start in starts.items() if start <= day]
            fetches = [
                asyncio.create_task(self._fetch_page(context, target, day, in_flight))
                for target in targets
            ]
            try:
                for fetched in asyncio.as_completed(fetches):
                    target, result = await fetched
                    if isinstance(result, Refused):
                        yield result
                        continue
                    yield Fetched(result.url)
                    page = self._read_page(result, target, day)
                    if isinstance(page, Refused):
                        yield page
                    else:
                        yield Charts(sorted(page, key=lambda chart: chart.key), expected_period=day)
            finally:
                for task in fetches:
                    task.cancel()
                await asyncio.gather(*fetches, return_exceptions=True)
            day += timedelta(days=1)

    async def _fetch_page(
        self, context: PollContext, target: PageTarget, day: date, in_flight: asyncio.Semaphore
    ) -> tuple[PageTarget, FetchResult | Refused]:
        """One page of one day, or its refusal when the fetch failed."""
        url = target.url(self.settings.base_url, day)
        async with in_flight:
            await self._pacer.wait_turn(url)
            try:
                # Each dated URL is processed once: no validators are kept (they would pile up).
                return target, await context.fetcher.fetch_text(url, conditional=False)
            except FetchError as exc:
                return target, Refused.fetch_failed([target.page_key()], day, exc)

    def _read_page(
        self, result: FetchResult, target: PageTarget, day: date
    ) -> list[Chart] | Refused:
        """The wanted lists of a fetched page; a page that fails is refused and gives none."""
        assert result.text is not None
        page_key = (target.page_key(),)
        requested_path = urlparse(result.url).path.rstrip("/")
        final_path = urlparse(result.final_url).path.rstrip("/")
        if final_path != requested_path:
            return Refused(page_key, day, f"redirected to {final_path or '/'}")
        try:
            charts = parse_flixpatrol_page(result.text, target.request(day))
        except SourceError as exc:
            return Refused(page_key, day, exc.reason)
        listed = [chart for chart in charts if list_name(chart.key.category) in self.settings.lists]
        if not listed:
            found = ", ".join(sorted({chart.key.category for chart in charts}))
            lists = ", ".join(self.settings.lists)
            return Refused(page_key, day, f"none of the lists {lists} (page has: {found})")
        # A streaming page repeats the lists of services fetched on their own pages: those come
        # from the service page (which also has the Kids lists), never twice.
        return [
            chart
            for chart in listed
            if not (target.kind == "streaming" and chart.key.service in self.settings.services)
        ]
