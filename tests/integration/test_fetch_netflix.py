"""Netflix polling against a local server holding real file excerpts, and every failure mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.events import Event, EventType
from bot.models import ALL_REGIONS, WORLD, ChartKey
from bot.poll import Poller, PollOutput
from bot.poll_config import load_poll_config
from bot.poll_report import SourceReport
from bot.ports import Storage
from bot.sources import netflix
from bot.sources.netflix_fetch import GLOBAL_CATEGORIES, latest_published_week
from handlers.http import AiohttpClient
from storage import open_backend
from tests.fakes.source_server import FAST_FETCH, FIXTURES, Reply, SourceServer, config_toml

POLL_FIXTURES = FIXTURES / "poll"
GLOBAL = (POLL_FIXTURES / "all-weeks-global.tsv").read_text(encoding="utf-8")
COUNTRIES = (POLL_FIXTURES / "all-weeks-countries.tsv").read_text(encoding="utf-8")
MOST_POPULAR = (POLL_FIXTURES / "most-popular.tsv").read_text(encoding="utf-8")
NEWEST_WEEK = date(2026, 7, 19)
# Wednesday after the Tuesday that published the week ending 2026-07-19.
NOW = datetime(2026, 7, 22, 14, 0, tzinfo=UTC)
GLOBAL_PATH = "/tudum/top10/data/" + netflix.GLOBAL_FILE


def without_newest_weeks(text: str, count: int, *, week_column: int = 0) -> str:
    lines = text.split("\n")
    weeks = sorted({line.split("\t")[week_column] for line in lines[1:]})
    dropped = set(weeks[-count:])
    return "\n".join(
        [lines[0], *(line for line in lines[1:] if line.split("\t")[week_column] not in dropped)]
    )


def global_key(category: str) -> ChartKey:
    return ChartKey("netflix", "netflix", WORLD, category, "weekly")


def make_config(tmp_path: Path, server: SourceServer, **netflix_keys: object) -> Config:
    table = {"base_url": server.netflix_base, **FAST_FETCH, **netflix_keys}
    path = tmp_path / "config.toml"
    path.write_text(
        config_toml(
            {
                "storage": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
                "sources.netflix": table,  # type: ignore[dict-item]
            }
        ),
        encoding="utf-8",
    )
    return load_config(path)


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await open_backend(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        yield opened
    finally:
        await opened.close()


async def poll(
    config: Config,
    storage: Storage,
    http: AiohttpClient,
    *,
    now: datetime = NOW,
    sink: list[Event] | None = None,
    temp_dir: Path | None = None,
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
        temp_dir=temp_dir,
    )
    return await poller.poll("netflix")


def test_latest_published_week() -> None:
    assert latest_published_week(date(2026, 7, 21)) == date(2026, 7, 19)  # Tuesday
    assert latest_published_week(date(2026, 7, 22)) == date(2026, 7, 19)  # Wednesday
    assert latest_published_week(date(2026, 7, 26)) == date(2026, 7, 19)  # Sunday
    assert latest_published_week(date(2026, 7, 27)) == date(2026, 7, 19)  # Monday
    assert latest_published_week(date(2026, 7, 20)) == date(2026, 7, 12)  # Monday before


async def test_first_poll_stores_every_file_then_nothing_changes(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    server.put_netflix(netflix.COUNTRIES_FILE, COUNTRIES)
    server.put_netflix(netflix.MOST_POPULAR_FILE, MOST_POPULAR)
    config = make_config(tmp_path, server)
    temp_dir = tmp_path / "downloads"
    temp_dir.mkdir()

    first = await poll(config, storage, http, temp_dir=temp_dir)
    # 12 weeks × 4 global categories + 6 countries × 5 weeks × 2 + 4 all-time lists.
    assert (first.accepted, first.rejected, first.fetched) == (48 + 60 + 4, 0, 3)
    assert first.events > 0 and not first.failed
    assert (
        first.summary_line() == f"netflix: 112 charts accepted, 0 rejected, {first.events} events"
    )
    assert list(temp_dir.iterdir()) == []  # the 31 MB file never outlives its poll
    assert await storage.latest_period(("netflix", "netflix", "Films", "weekly")) == date(
        2022, 2, 27
    )

    second = await poll(config, storage, http)
    assert (second.accepted, second.rejected, second.events, second.unchanged) == (0, 0, 0, 3)
    assert second.summary_line() == "netflix: 0 charts accepted, 0 rejected, 0 events (3 unchanged)"
    assert [hit.status for hit in server.hits[-3:]] == [304, 304, 304]


async def test_tuesday_publication_processes_only_the_new_week(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, without_newest_weeks(GLOBAL, 1))
    config = make_config(tmp_path, server, files=["global"])
    await poll(config, storage, http)
    assert await storage.latest_period(("netflix", "netflix", "TV (English)", "weekly")) == date(
        2026, 7, 12
    )

    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    events: list[Event] = []
    report = await poll(config, storage, http, sink=events)
    assert (report.accepted, report.rejected, report.skipped) == (4, 0, 0)
    assert {event.period for event in events} == {NEWEST_WEEK}
    new_number_ones = {
        (event.chart.category, event.title)
        for event in events
        if event.type is EventType.NEW_NUMBER_ONE
    }
    assert new_number_ones == {
        ("Films (English)", "Shipwrecked: Nightmare at Sea"),
        ("Films (Non-English)", "Desire"),
        ("TV (English)", "Little House on the Prairie"),
    }
    again = await poll(config, storage, http, sink=events)
    assert (again.accepted, again.events) == (0, 0)
    assert len(events) == len({event.key for event in events})


async def test_countries_file_only_new_weeks_are_processed(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put_netflix(netflix.COUNTRIES_FILE, without_newest_weeks(COUNTRIES, 1, week_column=2))
    config = make_config(tmp_path, server, files=["countries"])
    publication = datetime(2022, 3, 2, 14, 0, tzinfo=UTC)  # the files' own time
    first = await poll(config, storage, http, now=publication)
    assert first.accepted == 6 * 4 * 2

    server.put_netflix(netflix.COUNTRIES_FILE, COUNTRIES)
    events: list[Event] = []
    second = await poll(config, storage, http, sink=events, now=publication)
    assert (second.accepted, second.skipped, second.rejected) == (12, 0, 0)
    assert {event.period for event in events} == {date(2022, 2, 27)}
    assert await storage.has_chart(
        ChartKey("netflix", "netflix", "KR", "TV", "weekly"), date(2022, 2, 27)
    )


async def test_all_time_list_is_a_dated_snapshot_per_changed_fetch(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put_netflix(netflix.MOST_POPULAR_FILE, MOST_POPULAR)
    config = make_config(tmp_path, server, files=["most-popular"])
    first = await poll(config, storage, http)
    assert first.accepted == 4
    key = ChartKey("netflix", "netflix", WORLD, "Films (English) · first 91 days", "alltime")
    assert await storage.has_chart(key, NOW.date())

    later = datetime(2026, 7, 29, 14, 0, tzinfo=UTC)
    unchanged = await poll(config, storage, http, now=later)
    assert (unchanged.accepted, unchanged.unchanged) == (0, 1)

    revised = MOST_POPULAR.replace("541800000", "561800000", 1)
    server.put_netflix(netflix.MOST_POPULAR_FILE, revised)
    second = await poll(config, storage, http, now=later)
    # Only the revised list is a new snapshot; the three others still hold as stored.
    assert (second.accepted, second.skipped, second.rejected) == (1, 3, 0)
    assert await storage.has_chart(key, later.date())
    latest = await storage.latest_chart(key)
    assert latest is not None and latest.entries[0].hours == 561_800_000


FAILURES = [
    pytest.param(Reply(200, "null"), "body is `null`", id="null"),
    pytest.param(
        Reply(200, "<!DOCTYPE html><html><body>NotFound</body></html>", "text/html"),
        "HTML page instead of TSV",
        id="html",
    ),
    pytest.param(Reply(200, ""), "empty body", id="empty"),
    pytest.param(
        Reply(200, GLOBAL.replace("weekly_rank", "rank_this_week", 1)),
        "missing columns: weekly_rank",
        id="changed-header",
    ),
    pytest.param(
        Reply(200, COUNTRIES.split("\n", 1)[0] + "\n" + GLOBAL.split("\n", 1)[1]),
        "(looks like a countries file)",
        id="other-header",
    ),
    pytest.param(Reply(503, "down"), "fetch failed: HTTP 503", id="5xx"),
    pytest.param(Reply(403, "forbidden"), "fetch failed: HTTP 403", id="403"),
    pytest.param(Reply(200, GLOBAL, cut_after=5000), "fetch failed: body cut short", id="cut"),
]


@pytest.mark.parametrize(("reply", "reason"), FAILURES)
async def test_global_file_failures_are_rejected_snapshots_without_events(
    tmp_path: Path,
    server: SourceServer,
    http: AiohttpClient,
    storage: Storage,
    reply: Reply,
    reason: str,
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    attempts = 3 if reply.status >= 500 else 1  # a 5xx persists through the two retries
    server.script(GLOBAL_PATH, *([reply] * attempts))
    config = make_config(tmp_path, server, files=["global"])
    events: list[Event] = []
    report = await poll(config, storage, http, sink=events)

    assert report.failed and report.accepted == 0 and report.events == 0 and events == []
    assert report.rejected == 4
    assert all(reason in why for _, why in report.rejections)
    stored = await storage.recent_rejections()
    assert {r.key for r in stored} == {global_key(c) for c in GLOBAL_CATEGORIES}
    assert {r.period for r in stored} == {NEWEST_WEEK}
    assert await storage.chart_keys("netflix") == []

    # The broken body was never committed: the next poll judges the real file again.
    healed = await poll(config, storage, http, sink=events)
    assert (healed.accepted, healed.rejected) == (48, 0)


async def test_5xx_then_success_is_one_good_poll(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    server.script(GLOBAL_PATH, Reply(502, "bad gateway"), Reply(503, "busy"))
    config = make_config(tmp_path, server, files=["global"])
    report = await poll(config, storage, http)
    assert (report.accepted, report.rejected, report.failed) == (48, 0, False)
    assert server.count(GLOBAL_PATH) == 3


async def test_timeout_then_success(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    server.script(GLOBAL_PATH, Reply(200, GLOBAL, delay=0.6))
    config = make_config(tmp_path, server, files=["global"], timeout=0.2)
    report = await poll(config, storage, http)
    assert (report.accepted, report.failed) == (48, False)


async def test_truncated_table_rejects_that_chart_only(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    lines = GLOBAL.split("\n")
    cut = [
        line
        for line in lines
        if not (line.startswith("2026-07-19\tTV (English)\t") and int(line.split("\t")[2]) > 7)
    ]
    server.put_netflix(netflix.GLOBAL_FILE, "\n".join(cut))
    config = make_config(tmp_path, server, files=["global"])
    events: list[Event] = []
    report = await poll(config, storage, http, sink=events)
    assert (report.accepted, report.rejected) == (47, 1)
    assert report.rejections == [
        (f"{global_key('TV (English)')}@2026-07-19", "7 rows, expected ranks 1..10")
    ]
    assert not any(e.chart.category == "TV (English)" and e.period == NEWEST_WEEK for e in events)


async def test_a_file_far_smaller_than_the_last_one_is_rejected(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, without_newest_weeks(GLOBAL, 1))
    config = make_config(tmp_path, server, files=["global"])
    await poll(config, storage, http)
    # A well-formed file holding only the newest week: cut on a row boundary, not news.
    newest_only = without_newest_weeks(GLOBAL, 0)
    lines = newest_only.split("\n")
    server.put_netflix(
        netflix.GLOBAL_FILE,
        "\n".join([lines[0], *(x for x in lines if x.startswith("2026-07-19"))]),
    )
    report = await poll(config, storage, http)
    assert report.accepted == 0 and report.rejected == 4
    assert "body far smaller than usual" in report.rejections[0][1]


async def test_a_week_after_today_is_rejected(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    future = "\n".join(
        line.replace("2026-07-19", "2026-08-30", 1) if line.startswith("2026-07-19") else line
        for line in GLOBAL.split("\n")
    )
    server.put_netflix(netflix.GLOBAL_FILE, future)
    config = make_config(tmp_path, server, files=["global"])
    report = await poll(config, storage, http)
    assert (report.accepted, report.rejected) == (44, 4)
    assert all("after today" in why for _, why in report.rejections)


async def test_countries_file_failure_rejects_both_families(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, storage: Storage
) -> None:
    server.put_netflix(netflix.COUNTRIES_FILE, "null")
    config = make_config(tmp_path, server, files=["countries"])
    report = await poll(config, storage, http)
    assert (report.accepted, report.rejected, report.events) == (0, 2, 0)
    stored = await storage.recent_rejections()
    assert {(r.key.region, r.key.category) for r in stored} == {
        (ALL_REGIONS, "Films"),
        (ALL_REGIONS, "TV"),
    }
    assert {r.reason for r in stored} == {"body is `null`"}
