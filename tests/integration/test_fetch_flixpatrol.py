"""FlixPatrol polling against a local server: real and built pages, and every failure mode."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest

from bot.config import Config, ConfigError, load_config
from bot.events import Event
from bot.models import WORLD, ChartKey
from bot.poll import Poller, PollOutput
from bot.poll_config import load_poll_config
from bot.poll_report import SourceReport
from bot.ports import Storage
from bot.sources.flixpatrol_fetch import FlixPatrolSettings
from handlers.http import AiohttpClient
from tests.fakes.source_server import (
    FAST_FETCH,
    FIXTURES,
    ConfigValue,
    Reply,
    SourceServer,
    config_toml,
    flixpatrol_page,
)

PAGES = FIXTURES / "flixpatrol"
NL_DAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)  # FlixPatrol has published 2026-03-10 by now
NL_PATH = "/top10/netflix/netherlands/2026-03-10/"
WORLD_PATH = "/top10/netflix/world/2026-03-10/"


def page(name: str) -> str:
    return (PAGES / name).read_text(encoding="utf-8")


def nl_key(category: str) -> ChartKey:
    return ChartKey("flixpatrol", "netflix", "NL", category, "daily")


def page_key(region: str, service: str = "netflix") -> ChartKey:
    return ChartKey("flixpatrol", service, region, "page", "daily")


def make_config(tmp_path: Path, server: SourceServer, **keys: ConfigValue) -> Config:
    table: dict[str, ConfigValue] = {
        "enabled": True,
        "base_url": server.base_url,
        "services": ["netflix"],
        "countries": ["NL"],
        "world": True,
        "backfill_days": 1,
        "request_interval": 0,
        **FAST_FETCH,
        **keys,
    }
    path = tmp_path / "config.toml"
    path.write_text(
        config_toml({"sources.netflix": {"enabled": False}, "sources.flixpatrol": table}),
        encoding="utf-8",
    )
    return load_config(path)


async def poll(
    config: Config,
    storage: Storage,
    http: AiohttpClient,
    *,
    now: datetime = NOW,
    sink: list[Event] | None = None,
) -> SourceReport:
    async def collect(events: list[Event]) -> None:
        if sink is not None:
            sink.extend(events)

    poller = Poller(
        storage,
        load_poll_config(config),
        config.diff,
        http=http,
        output=PollOutput(events=collect),
        clock=lambda: now,
    )
    return await poller.poll("flixpatrol")


async def test_country_and_world_pages_of_the_previous_day(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put(NL_PATH, page("netflix-netherlands-2026-03-10.html"), content_type="text/html")
    server.put(WORLD_PATH, page("netflix-world-2026-03-10.html"), content_type="text/html")
    config = make_config(tmp_path, server)

    report = await poll(config, storage, http)
    assert (report.accepted, report.rejected, report.fetched) == (6, 0, 2)
    # Only yesterday is asked for: today's list is not published any more. The two pages are
    # fetched at once, so they may arrive in either order.
    assert sorted(server.paths("/top10/")) == sorted([NL_PATH, WORLD_PATH])
    keys = await storage.chart_keys("flixpatrol")
    assert {(k.region, k.category) for k in keys} == {
        ("NL", "Movies"),
        ("NL", "TV Shows"),
        ("NL", "Kids Movies"),
        ("NL", "Kids TV Shows"),
        (WORLD, "Movies"),
        (WORLD, "TV Shows"),
    }
    movies = await storage.latest_chart(nl_key("Movies"))
    assert movies is not None and movies.period == NL_DAY
    # The poster link to the #1 sits outside the table: ten rows, #1 once.
    assert [e.rank for e in movies.entries] == list(range(1, 11))
    assert movies.entries[0].title_id == "fp:war-machine-2026"
    assert movies.entries[0].days_in_top10 == 5
    world = await storage.latest_chart(ChartKey("flixpatrol", "netflix", WORLD, "Movies", "daily"))
    assert world is not None and world.entries[0].points == 812

    again = await poll(config, storage, http)
    assert (again.accepted, again.rejected, again.fetched, again.events) == (0, 0, 0, 0)
    assert len(server.paths("/top10/")) == 2  # up to date: nothing fetched


async def test_lists_setting_filters_categories(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put(NL_PATH, page("netflix-netherlands-2026-03-10.html"), content_type="text/html")
    server.put(WORLD_PATH, page("netflix-world-2026-03-10.html"), content_type="text/html")
    config = make_config(tmp_path, server, lists=["Kids"])
    report = await poll(config, storage, http)
    assert report.accepted == 2
    assert {k.category for k in await storage.chart_keys("flixpatrol")} == {
        "Kids Movies",
        "Kids TV Shows",
    }
    # The world page has no Kids list: that page is rejected, and says what it had.
    assert report.rejected == 1
    assert report.rejections[0][0] == f"{page_key(WORLD)}@2026-03-10"
    assert "page has: Movies, TV Shows" in report.rejections[0][1]


async def test_streaming_page_of_a_country(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put(
        "/top10/streaming/united-states/2026-08-21/",
        page("flixpatrol-us-apple-tv.html"),
        content_type="text/html",
    )
    server.put(
        "/top10/netflix/united-states/2026-08-21/",
        page("flixpatrol-us-apple-tv.html"),
        content_type="text/html",
    )
    config = make_config(tmp_path, server, countries=["US"], world=False, streaming=True)
    report = await poll(config, storage, http, now=datetime(2026, 8, 22, 6, tzinfo=UTC))
    assert server.paths("/top10/") == [
        "/top10/netflix/united-states/2026-08-21/",
        "/top10/streaming/united-states/2026-08-21/",
    ]
    keys = {(k.service, k.category) for k in await storage.chart_keys("flixpatrol")}
    assert ("apple-tv", "Movies") in keys and ("apple-tv", "TV Shows") in keys
    assert report.accepted == len(keys)


FAILURES = [
    pytest.param(None, "'Page Not Found' page served as a chart", id="page-not-found"),
    pytest.param(
        Reply(200, page("cloudflare-challenge.html"), "text/html"),
        "Cloudflare challenge page",
        id="challenge",
    ),
    pytest.param(
        Reply(200, page("no-top10-lists.html"), "text/html"),
        "no Top 10 list on the page",
        id="no-lists",
    ),
    pytest.param(
        Reply(302, "", location="/top10/netflix/netherlands/2026-03-09/"),
        "redirected to /top10/netflix/netherlands/2026-03-09",
        id="redirect-to-another-date",
    ),
    pytest.param(Reply(503, "down"), "fetch failed: HTTP 503", id="5xx"),
    pytest.param(Reply(200, "", "text/html"), "body far too small", id="empty-body"),
    pytest.param(Reply(200, "null"), "body far too small", id="null"),
]


@pytest.mark.parametrize(("reply", "reason"), FAILURES)
async def test_page_failures_are_rejected_snapshots_without_events(
    tmp_path: Path,
    server: SourceServer,
    http: AiohttpClient,
    storage: Storage,
    reply: Reply | None,
    reason: str,
) -> None:
    server.put(
        "/top10/netflix/netherlands/2026-03-09/",
        page("netflix-netherlands-2026-03-10.html"),
        content_type="text/html",
    )
    if reply is not None:
        server.script(NL_PATH, *([reply] * (3 if reply.status >= 500 else 1)))
    config = make_config(tmp_path, server, world=False)
    events: list[Event] = []
    report = await poll(config, storage, http, sink=events)

    assert report.failed and (report.accepted, report.events) == (0, 0) and events == []
    assert report.rejected == 1
    assert report.rejections[0][0] == f"{page_key('NL')}@2026-03-10"
    assert reason in report.rejections[0][1]
    stored = await storage.recent_rejections()
    assert [(r.key, r.period) for r in stored] == [(page_key("NL"), NL_DAY)]
    assert await storage.chart_keys("flixpatrol") == []


@pytest.mark.parametrize(
    ("fixture", "served_for", "accepted", "rejected", "reason"),
    [
        pytest.param("truncated-table.html", NL_DAY, 1, 1, "page is cut off", id="truncated-table"),
        pytest.param("empty-table.html", NL_DAY, 1, 1, "0 rows", id="empty-table"),
        pytest.param(
            "netflix-netherlands-2026-03-10.html",
            date(2026, 3, 11),
            0,
            4,
            "page is for 2026-03-10, asked for 2026-03-11",
            id="wrong-date",
        ),
    ],
)
async def test_broken_lists_are_rejected_by_the_gate(
    tmp_path: Path,
    server: SourceServer,
    http: AiohttpClient,
    storage: Storage,
    fixture: str,
    served_for: date,
    accepted: int,
    rejected: int,
    reason: str,
) -> None:
    server.put(
        f"/top10/netflix/netherlands/{served_for.isoformat()}/",
        page(fixture),
        content_type="text/html",
    )
    config = make_config(tmp_path, server, world=False)
    morning_after = datetime.combine(served_for + timedelta(days=1), time(6), UTC)
    report = await poll(config, storage, http, now=morning_after)
    assert (report.accepted, report.rejected, report.events > 0) == (accepted, rejected, False)
    assert all(reason in why for _, why in report.rejections)


async def test_5xx_then_success(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put(NL_PATH, page("netflix-netherlands-2026-03-10.html"), content_type="text/html")
    server.script(NL_PATH, Reply(500, "oops"), Reply(504, "gateway timeout"))
    config = make_config(tmp_path, server, world=False)
    report = await poll(config, storage, http)
    assert (report.accepted, report.rejected, report.failed) == (4, 0, False)
    assert server.count(NL_PATH) == 3


async def test_timeout_then_success(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put(NL_PATH, page("netflix-netherlands-2026-03-10.html"), content_type="text/html")
    server.script(NL_PATH, Reply(200, "slow", "text/html", delay=0.6))
    config = make_config(tmp_path, server, world=False, timeout=0.2)
    report = await poll(config, storage, http)
    assert (report.accepted, report.failed) == (4, False)


def built_page(day: date, titles: list[str]) -> str:
    rows = [(title.lower().replace(" ", "-"), title, i + 1) for i, title in enumerate(titles)]
    return flixpatrol_page(
        service="Netflix", country="the Netherlands", day=day, lists={"Movies": rows}
    )


TITLES = [f"Film {letter}" for letter in "ABCDEFGHIJKLMNOP"]


async def test_backfill_goes_oldest_first_and_never_back(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    days = [date(2026, 3, d) for d in (7, 8, 9, 10)]
    for offset, day in enumerate(days):
        if day == date(2026, 3, 8):
            continue  # a day FlixPatrol lost: "Page Not Found"
        server.put(
            f"/top10/netflix/netherlands/{day.isoformat()}/",
            built_page(day, TITLES[offset : offset + 10]),
            content_type="text/html",
        )
    config = make_config(tmp_path, server, world=False, backfill_days=4, lists=["Movies"])
    report = await poll(config, storage, http)
    assert server.paths("/top10/") == [
        f"/top10/netflix/netherlands/{day.isoformat()}/" for day in days
    ]
    assert (report.accepted, report.rejected) == (3, 1)
    assert report.rejections[0][0] == f"{page_key('NL')}@2026-03-08"

    # The lost day is not fetched again: a later day is stored, the diff never goes back.
    later = await poll(config, storage, http)
    assert (later.fetched, later.accepted) == (0, 0)


async def test_backfill_is_bounded_by_backfill_days(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    config = make_config(tmp_path, server, world=False, backfill_days=2)
    await poll(config, storage, http)
    assert server.paths("/top10/") == [
        "/top10/netflix/netherlands/2026-03-09/",
        "/top10/netflix/netherlands/2026-03-10/",
    ]


async def test_pages_through_the_solver(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put(NL_PATH, page("netflix-netherlands-2026-03-10.html"), content_type="text/html")
    config = make_config(
        tmp_path,
        server,
        world=False,
        base_url="https://flixpatrol.invalid/",
        solver_url=server.solver_url,
    )
    report = await poll(config, storage, http)
    assert report.accepted == 4
    assert server.paths(via="solver") == [NL_PATH]


async def test_pages_through_a_proxy(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put(NL_PATH, page("netflix-netherlands-2026-03-10.html"), content_type="text/html")
    config = make_config(
        tmp_path, server, world=False, base_url="http://flixpatrol.invalid/", proxy=server.proxy_url
    )
    report = await poll(config, storage, http)
    assert report.accepted == 4
    assert server.paths(via="proxy") == [NL_PATH]


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"countries": ["ZZ"]}, "unknown country code 'ZZ'"),
        ({"countries": ["world"]}, "not an ISO 3166-1 alpha-2 code"),
        ({"lists": ["Documentaries"]}, "choose from Movies, TV Shows, Kids, Overall"),
        ({"services": ["Disney Plus"]}, "not a FlixPatrol service slug"),
        ({"backfill_days": 0}, "backfill_days must be an integer >= 1"),
        ({"servces": ["netflix"]}, "unknown key 'servces'"),
        ({"pages_in_flight": 0}, "pages_in_flight must be an integer >= 1"),
        ({"publication_window": ["daily 06:00-08:00"]}, "publication_window: 'daily"),
    ],
)
def test_config_mistakes_fail_fast(keys: Mapping[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FlixPatrolSettings.from_table(dict(keys))


def test_config_defaults_and_normalisation() -> None:
    defaults = FlixPatrolSettings.from_table({})
    assert defaults.enabled is False
    assert defaults.schedule == ("0 6 * * *",)
    assert defaults.lists == ("Movies", "TV Shows", "Kids", "Overall")
    settings = FlixPatrolSettings.from_table(
        {"countries": ["kr", "SV", "kr"], "lists": ["tv shows"], "services": ["HBO-Max"]}
    )
    assert settings.countries == ("KR", "SV")
    assert settings.lists == ("TV Shows",)
    assert settings.services == ("hbo-max",)
