"""The scheduler on a fake clock: a Tuesday Netflix publication, daily FlixPatrol lists, a
three-day outage and the catch-up after it — every expected event exactly once.

time-machine freezes the wall clock (APScheduler reads `datetime.now`); the test moves it to each
scheduled run time and wakes the scheduler instead of waiting for real hours to pass.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine

from bot.catchup import CatchupSummary
from bot.config import Config, ConfigError, load_config
from bot.diff import DiffConfig
from bot.events import Event, EventType
from bot.models import Chart
from bot.pipeline import Pipeline
from bot.poll import Poller, PollOutput
from bot.poll_config import load_poll_config
from bot.poll_window import PollTiming
from bot.sources import netflix
from bot.sources.flixpatrol import PageRequest, parse_flixpatrol_page
from handlers.http import AiohttpClient
from handlers.scheduler import PollScheduler, cron_trigger, next_fire_time
from storage import MemoryBackend, open_backend
from tests.fakes.source_server import (
    FAST_FETCH,
    FIXTURES,
    Reply,
    SourceServer,
    config_toml,
    flixpatrol_page,
)

GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")
NEWEST_WEEK = date(2026, 7, 19)
GLOBAL_PATH = "/tudum/top10/data/" + netflix.GLOBAL_FILE
TITLES = [f"Film {n:02d}" for n in range(1, 31)]
FIRST_PAGE_DAY = date(2026, 7, 16)
LAST_PAGE_DAY = date(2026, 7, 26)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 7, day, hour, minute, tzinfo=UTC)


def global_without_newest_week() -> str:
    lines = GLOBAL.split("\n")
    return "\n".join(line for line in lines if not line.startswith(NEWEST_WEEK.isoformat()))


def days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def nl_page(day: date) -> str:
    """Day i lists titles i … i+9: every day a new #1, one title in and one out."""
    i = (day - FIRST_PAGE_DAY).days
    rows = [
        (title.lower().replace(" ", "-"), title, 3 + rank)
        for rank, title in enumerate(TITLES[i : i + 10])
    ]
    return flixpatrol_page(
        service="Netflix", country="the Netherlands", day=day, lists={"Movies": rows}
    )


def nl_path(day: date) -> str:
    return f"/top10/netflix/netherlands/{day.isoformat()}/"


@dataclass
class Delivered:
    events: list[tuple[datetime, Event]] = field(default_factory=list)
    summaries: list[tuple[datetime, CatchupSummary]] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)

    def output(self) -> PollOutput:
        async def events(new: list[Event]) -> None:
            self.events.extend((datetime.now(UTC), event) for event in new)

        async def catchup(summary: CatchupSummary) -> None:
            self.summaries.append((datetime.now(UTC), summary))

        async def operator(text: str) -> None:
            self.alerts.append(text)

        return PollOutput(events=events, catchup=catchup, operator=operator)

    def all_keys(self) -> list[str]:
        keys = [event.key for _, event in self.events]
        keys.extend(event.key for _, summary in self.summaries for event in summary.events)
        return keys


def make_config(tmp_path: Path, server: SourceServer) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        config_toml(
            {
                "storage": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
                "alerts": {"catchup_max_age": "2d"},
                "sources.netflix": {
                    "base_url": server.netflix_base,
                    "files": ["global"],
                    **FAST_FETCH,
                },
                "sources.flixpatrol": {
                    "enabled": True,
                    "base_url": server.base_url,
                    "countries": ["NL"],
                    "world": False,
                    "lists": ["Movies"],
                    "backfill_days": 3,
                    "request_interval": 0,
                    **FAST_FETCH,
                },
            }
        ),
        encoding="utf-8",
    )
    return load_config(path)


async def expected_events() -> list[Event]:
    """The same charts replayed straight through a pipeline, no polling involved."""
    charts: list[Chart] = netflix.sorted_by_period(netflix.parse_global(GLOBAL))
    for day in days(date(2026, 7, 17), date(2026, 7, 25)):
        charts.extend(
            parse_flixpatrol_page(nl_page(day), PageRequest("service", "netflix", "NL", day))
        )
    charts.sort(key=lambda chart: (chart.period, chart.key))
    found: list[Event] = []

    async def collect(new: list[Event]) -> None:
        found.extend(new)

    await Pipeline(MemoryBackend(), DiffConfig(), queue_deliveries=False, sink=collect).process(
        charts
    )
    return found


async def test_publication_outage_and_catch_up_emit_each_event_once(
    tmp_path: Path, server: SourceServer, http: AiohttpClient
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, global_without_newest_week())
    for day in days(FIRST_PAGE_DAY, LAST_PAGE_DAY):
        server.put(nl_path(day), nl_page(day), content_type="text/html")
    config = make_config(tmp_path, server)
    poll_config = load_poll_config(config)
    delivered = Delivered()
    runs = 0

    async def advance(scheduler: PollScheduler, when: datetime, new_runs: int) -> None:
        nonlocal runs
        traveller.move_to(when)
        scheduler.wake()
        runs += new_runs
        await scheduler.wait_for_runs(runs)

    with time_machine.travel(at(20, 12), tick=False) as traveller:
        # --- first start, Monday 12:00: catch-up of both sources at once -------------------
        storage = await open_backend(config.storage.url)
        poller = Poller(storage, poll_config, config.diff, http=http, output=delivered.output())
        scheduler = PollScheduler(poller, poll_config.timings())
        scheduler.start()
        runs = 2
        await scheduler.wait_for_runs(runs)
        assert scheduler.next_runs() == {"netflix": at(20, 14), "flixpatrol": at(21, 6)}
        # FlixPatrol: the last backfill_days days, oldest first, never today or older days.
        assert server.paths("/top10/") == [nl_path(date(2026, 7, d)) for d in (17, 18, 19)]
        # Netflix's history is older than two days: one summary. FlixPatrol's 17th is its first
        # list (a baseline, no events); the 18th and 19th are recent enough to be sent one by one.
        assert len(delivered.summaries) == 1
        assert {e.chart.source for e in delivered.summaries[0][1].events} == {"netflix"}
        assert {(e.chart.source, e.period) for _, e in delivered.events} == {
            ("flixpatrol", date(2026, 7, 18)),
            ("flixpatrol", date(2026, 7, 19)),
        }

        await advance(scheduler, at(20, 14), 1)  # Netflix: nothing published yet
        await advance(scheduler, at(20, 20), 1)
        await advance(scheduler, at(21, 6), 1)  # FlixPatrol: the 20th only
        await advance(scheduler, at(21, 14), 1)  # Tuesday 14:00: Netflix not out yet
        before_publication = len(delivered.events)
        assert server.paths(GLOBAL_PATH)[-1:] == [GLOBAL_PATH]
        assert [h.status for h in server.hits if h.path == GLOBAL_PATH] == [200, 304, 304, 304]

        traveller.move_to(at(21, 18))
        server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)  # Netflix publishes the new week
        await advance(scheduler, at(21, 20), 1)
        netflix_now = [e for when, e in delivered.events[before_publication:] if when == at(21, 20)]
        assert netflix_now and {e.period for e in netflix_now} == {NEWEST_WEEK}
        assert {
            (e.chart.category, e.title) for e in netflix_now if e.type is EventType.NEW_NUMBER_ONE
        } == {
            ("Films (English)", "Shipwrecked: Nightmare at Sea"),
            ("Films (Non-English)", "Desire"),
            ("TV (English)", "Little House on the Prairie"),
        }

        await advance(scheduler, at(22, 6), 1)
        await advance(scheduler, at(22, 14), 1)  # the week again: 304, nothing new
        assert [e for when, e in delivered.events if when == at(22, 14)] == []

        # --- outage: the bot stops Wednesday 15:00 and is down for three days ---------------
        traveller.move_to(at(22, 15))
        await scheduler.stop()
        await storage.close()
        traveller.move_to(at(25, 10))

        # --- restart, Saturday 10:00: catch-up, oldest first ----------------------------------
        storage = await open_backend(config.storage.url)
        poller = Poller(storage, poll_config, config.diff, http=http, output=delivered.output())
        scheduler = PollScheduler(poller, poll_config.timings())
        summaries_before = len(delivered.summaries)
        scheduler.start()
        runs = 2
        await scheduler.wait_for_runs(runs)
        assert server.paths("/top10/")[-3:] == [nl_path(date(2026, 7, d)) for d in (22, 23, 24)]
        restart_summaries = delivered.summaries[summaries_before:]
        assert len(restart_summaries) == 1  # FlixPatrol's 22nd; Netflix had nothing new
        assert {e.period for e in restart_summaries[0][1].events} == {date(2026, 7, 22)}
        assert {e.period for when, e in delivered.events if when == at(25, 10)} == {
            date(2026, 7, 23),
            date(2026, 7, 24),
        }

        await advance(scheduler, at(25, 14), 1)
        await advance(scheduler, at(25, 20), 1)
        await advance(scheduler, at(26, 6), 1)  # the 25th
        await scheduler.stop()
        await storage.close()

    # Every FlixPatrol day fetched exactly once, in order; the 16th (too old) and any "today"
    # page (the 26th is on the server at the end) never.
    assert server.paths("/top10/") == [
        nl_path(d) for d in days(date(2026, 7, 17), date(2026, 7, 25))
    ]
    # Exactly the events a straight replay of the same charts gives, each delivered once.
    keys = delivered.all_keys()
    assert len(keys) == len(set(keys))
    assert sorted(keys) == sorted(event.key for event in await expected_events())
    assert delivered.alerts == []


def test_cron_schedules_are_utc_and_combinable() -> None:
    now = datetime(2026, 7, 21, 15, 0, tzinfo=UTC)
    assert next_fire_time(PollTiming(("0 14 * * *", "0 20 * * *")), now) == datetime(
        2026, 7, 21, 20, 0, tzinfo=UTC
    )
    assert next_fire_time(PollTiming(("0 6 * * *",)), now) == datetime(
        2026, 7, 22, 6, 0, tzinfo=UTC
    )
    assert next_fire_time(PollTiming(()), now) is None
    assert cron_trigger(()) is None


def test_a_bad_cron_expression_fails_fast() -> None:
    with pytest.raises(ConfigError, match=r"\[sources.netflix\] schedule: '0 25 \* \* \*'"):
        cron_trigger(("0 25 * * *",), source="netflix")


async def test_a_poll_in_flight_is_never_started_twice(
    tmp_path: Path, server: SourceServer, http: AiohttpClient
) -> None:
    release = asyncio.Event()
    server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
    server.script(GLOBAL_PATH, Reply(200, GLOBAL, gate=release))
    config = make_config(tmp_path, server)
    poll_config = load_poll_config(config)
    with time_machine.travel(at(20, 13, 59), tick=False) as traveller:
        storage = await open_backend(config.storage.url)
        try:
            poller = Poller(storage, poll_config, config.diff, http=http)
            scheduler = PollScheduler(poller, {"netflix": PollTiming(("0 14 * * *",))})
            scheduler.start()  # the start-up catch-up: its fetch is held by the server
            await server.wait_for(GLOBAL_PATH)
            traveller.move_to(at(20, 14))
            scheduler.wake()
            await asyncio.sleep(0)  # the wake-up runs before this task resumes
            # The 14:00 run came due while the catch-up was running: skipped, not queued.
            assert scheduler.next_runs() == {"netflix": at(21, 14)}
            release.set()
            await scheduler.wait_for_runs(1)
            await scheduler.stop()
            assert scheduler.finished_runs == 1
            assert server.count(GLOBAL_PATH) == 1
        finally:
            await storage.close()
