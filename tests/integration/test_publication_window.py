"""A Tuesday inside Netflix's publication window, on a fake clock: a fast poll every minute is a
conditional GET (a 304 changes nothing), the week is news on the first poll after it is out,
and once it is stored the fast polls stop until the window closes (the safety polls stay)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import time_machine

from bot.config import Config, load_config
from bot.events import Event
from bot.poll import Poller, PollOutput
from bot.poll_config import load_poll_config
from bot.poll_report import SourceReport
from bot.sources import netflix
from handlers.http import AiohttpClient
from handlers.scheduler import PollScheduler
from storage import open_backend
from tests.fakes.source_server import FAST_FETCH, FIXTURES, SourceServer, config_toml

GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")
NEWEST_WEEK = date(2026, 7, 19)
GLOBAL_PATH = "/tudum/top10/data/" + netflix.GLOBAL_FILE
FAMILY = ("netflix", "netflix", "TV (English)", "weekly")


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """July 2026: the 21st is a Tuesday."""
    return datetime(2026, 7, day, hour, minute, second, tzinfo=UTC)


def without_newest_week() -> str:
    return "\n".join(line for line in GLOBAL.split("\n") if not line.startswith("2026-07-19"))


def make_config(tmp_path: Path, server: SourceServer) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        config_toml(
            {
                "storage": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
                "alerts": {"catchup_max_age": "4d"},
                "sources.netflix": {
                    "base_url": server.netflix_base,
                    "files": ["global"],
                    "schedule": ["0 14 * * *", "0 20 * * *"],
                    "publication_window": ["tue 15:00-24:00"],
                    "window_interval": "60s",
                    **FAST_FETCH,
                },
            }
        ),
        encoding="utf-8",
    )
    return load_config(path)


async def test_fast_polls_in_the_window_until_the_week_is_in(
    tmp_path: Path, server: SourceServer, http: AiohttpClient
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, without_newest_week())
    config = make_config(tmp_path, server)
    events: list[tuple[datetime, Event]] = []
    reports: list[SourceReport] = []

    async def collect(new: list[Event]) -> None:
        events.extend((datetime.now(UTC), event) for event in new)

    async def on_report(report: SourceReport) -> None:
        reports.append(report)

    with time_machine.travel(at(21, 14, 30), tick=False) as traveller:
        storage = await open_backend(config.storage.url)
        try:
            poller = Poller(
                storage,
                load_poll_config(config),
                config.diff,
                http=http,
                output=PollOutput(events=collect),
            )
            scheduler = PollScheduler(
                poller, load_poll_config(config).timings(), on_report=on_report
            )
            runs = 0

            async def advance(when: datetime) -> None:
                nonlocal runs
                traveller.move_to(when)
                scheduler.wake()
                runs += 1
                await scheduler.wait_for_runs(runs)

            scheduler.start()  # the start-up poll: the history, before the window opens
            runs = 1
            await scheduler.wait_for_runs(runs)
            assert scheduler.next_runs() == {"netflix": at(21, 15)}
            stored_before = await storage.latest_period(FAMILY)

            await advance(at(21, 15))
            await advance(at(21, 15, 1))
            # Inside the window: conditional GETs, answered 304, which change nothing.
            window_hits = server.hits[1:]
            assert [hit.status for hit in window_hits] == [304, 304]
            assert all("If-None-Match" in hit.headers for hit in window_hits)
            assert [(r.unchanged, r.fetched, r.accepted, r.events) for r in reports[1:]] == [
                (1, 0, 0, 0),
                (1, 0, 0, 0),
            ]
            assert await storage.latest_period(FAMILY) == stored_before
            assert scheduler.next_runs() == {"netflix": at(21, 15, 2)}
            events_before = len(events)

            traveller.move_to(at(21, 15, 1, 40))
            server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)  # Netflix publishes
            await advance(at(21, 15, 2))
            news = events[events_before:]
            assert news and {event.period for _, event in news} == {NEWEST_WEEK}
            assert {when for when, _ in news} == {at(21, 15, 2)}
            assert await storage.latest_period(FAMILY) == NEWEST_WEEK

            # The week is in: no fast polls for the rest of the window, the safety polls stay.
            assert scheduler.next_runs() == {"netflix": at(21, 20)}
            await advance(at(21, 20))
            assert server.hits[-1].status == 304
            assert scheduler.next_runs() == {"netflix": at(22, 14)}
            assert len(events) == events_before + len(news)
            await scheduler.stop()
        finally:
            await storage.close()
    assert server.count(GLOBAL_PATH) == 5
