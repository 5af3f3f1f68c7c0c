"""FlixPatrol pages fetched at once: bounded, paced per host, and handed over page by page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.config import load_config
from bot.events import Event
from bot.poll import Poller, PollOutput
from bot.poll_config import load_poll_config
from bot.ports import Storage
from bot.sources.pacing import HostPacer
from bot.sources.regions import flixpatrol_slug
from handlers.http import AiohttpClient
from tests.fakes.source_server import (
    FAST_FETCH,
    ConfigValue,
    Reply,
    SourceServer,
    config_toml,
    flixpatrol_page,
)

COUNTRIES = {"NL": "the Netherlands", "DE": "Germany", "FR": "France", "IT": "Italy", "ES": "Spain"}
FIRST_DAY = date(2026, 3, 9)
TITLES = [f"Film {n:02d}" for n in range(1, 30)]


def path(region: str, day: date) -> str:
    return f"/top10/netflix/{flixpatrol_slug(region)}/{day.isoformat()}/"


def page(region: str, day: date) -> str:
    """Each day a new #1 in every country (so the second day has events everywhere)."""
    shift = (day - FIRST_DAY).days + list(COUNTRIES).index(region)
    rows = [
        (title.lower().replace(" ", "-"), title, 5 + rank)
        for rank, title in enumerate(TITLES[shift : shift + 10])
    ]
    return flixpatrol_page(
        service="Netflix", country=COUNTRIES[region], day=day, lists={"Movies": rows}
    )


def poller(
    tmp_path: Path,
    server: SourceServer,
    storage: Storage,
    http: AiohttpClient,
    now: datetime,
    on_events: Callable[[list[Event]], Awaitable[None]] | None = None,
    **keys: ConfigValue,
) -> Poller:
    table: dict[str, ConfigValue] = {
        "enabled": True,
        "base_url": server.base_url,
        "countries": list(COUNTRIES),
        "world": False,
        "lists": ["Movies"],
        "backfill_days": 1,
        **FAST_FETCH,
        **keys,
    }
    config_path = tmp_path / "config.toml"
    config_path.write_text(
        config_toml({"sources.netflix": {"enabled": False}, "sources.flixpatrol": table}),
        encoding="utf-8",
    )
    config = load_config(config_path)
    return Poller(
        storage,
        load_poll_config(config),
        config.diff,
        http=http,
        output=PollOutput(events=on_events),
        clock=lambda: now,
    )


def serve_day(server: SourceServer, day: date) -> None:
    for region in COUNTRIES:
        server.put(path(region, day), page(region, day), content_type="text/html")


async def test_pages_in_flight_are_bounded_and_each_host_is_paced(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    interval = 0.05
    held = asyncio.Event()
    for region in COUNTRIES:
        body = page(region, FIRST_DAY)
        server.script(path(region, FIRST_DAY), Reply(200, body, "text/html", gate=held))
    now = datetime.combine(FIRST_DAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    bot = poller(tmp_path, server, storage, http, now, pages_in_flight=2, request_interval=interval)
    polling = asyncio.create_task(bot.poll("flixpatrol"))
    # Two pages are held by the server; a third would come within an interval if the bound
    # did not hold. Give it several intervals to show up, then let the pages go.
    await asyncio.wait_for(server.wait_for(path("DE", FIRST_DAY)), timeout=10)
    await asyncio.sleep(interval * 6)
    assert len(server.hits) == 2
    held.set()
    report = await asyncio.wait_for(polling, timeout=30)

    assert report.accepted == len(COUNTRIES)
    assert server.max_in_flight == 2
    assert sorted(server.paths("/top10/")) == sorted(path(r, FIRST_DAY) for r in COUNTRIES)
    # Measured where the host sees them, over the whole run: n request starts paced an interval
    # apart span n - 1 intervals, and still n - 2 when the first one was delayed on its way (a
    # loaded machine). Single gaps are not compared: one late request makes one gap short.
    hits = server.hits
    assert hits[-1].at - hits[0].at >= interval * (len(hits) - 2)


async def test_a_page_is_handed_over_before_the_last_page_is_fetched(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    second_day = FIRST_DAY + timedelta(days=1)
    serve_day(server, FIRST_DAY)
    first_now = datetime.combine(second_day, datetime.min.time(), tzinfo=UTC)
    await poller(tmp_path, server, storage, http, first_now, request_interval=0).poll("flixpatrol")

    # The next day: the last country's page is held until events of another page arrived.
    serve_day(server, second_day)
    last = list(COUNTRIES)[-1]
    released = asyncio.Event()
    server.script(
        path(last, second_day), Reply(200, page(last, second_day), "text/html", gate=released)
    )
    events: list[Event] = []

    async def events_then_release(new: list[Event]) -> None:
        events.extend(new)
        released.set()

    second = poller(
        tmp_path,
        server,
        storage,
        http,
        first_now + timedelta(days=1),
        events_then_release,
        pages_in_flight=len(COUNTRIES),
        request_interval=0,
    )
    report = await asyncio.wait_for(second.poll("flixpatrol"), timeout=30)

    assert report.accepted == len(COUNTRIES)
    regions_in_order = [event.chart.region for event in events]
    assert regions_in_order[0] != last  # the first events came before the held page was in
    assert last in regions_in_order


async def test_the_pacer_spaces_starts_per_host() -> None:
    clock = 100.0
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        nonlocal clock
        slept.append(seconds)
        clock += seconds + 0.5  # the loop woke up late: the next turn counts from here

    pacer = HostPacer(2.0, sleep=sleep, clock=lambda: clock)
    for url in ("https://a.example/1", "https://a.example/2", "https://b.example/1"):
        await pacer.wait_turn(url)
    await pacer.wait_turn("https://A.example/3")
    # a.example: at once, then 2 s after the first start, then 2 s after the second one really
    # started (the host's case does not matter); b.example is another host: at once.
    assert slept == [2.0, 2.0]
    assert clock == 105.0
