"""A hostile FlixPatrol: pages whose lists sit under the wrong heading, undecodable bytes and
control characters, after a healthy day; the good page that follows gives its events once."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.events import Event
from bot.poll_report import SourceReport
from bot.ports import Storage
from handlers.http import AiohttpClient
from storage import open_backend
from tests.fakes.source_server import (
    FAST_FETCH,
    PageRow,
    Reply,
    SourceServer,
    config_toml,
    flixpatrol_page,
)
from tests.hostile_netflix import poll_source

DAY1, DAY2 = date(2026, 3, 9), date(2026, 3, 10)
PATH1, PATH2 = (f"/top10/netflix/netherlands/{day.isoformat()}/" for day in (DAY1, DAY2))
NOW = datetime(2026, 3, 11, 6, 0, tzinfo=UTC)

Lists = Mapping[str, Sequence[PageRow]]


def rows(prefix: str, first: int) -> list[PageRow]:
    """Ten titles, `prefix` 1…16 from `first` on: consecutive days share most of them."""
    numbers = range(first, first + 10)
    return [(f"{prefix.lower()}-{n}", f"{prefix} {n}", 3) for n in numbers]


HEALTHY: Lists = {"Movies": rows("Film", 1), "TV Shows": rows("Show", 1)}
NEXT_DAY: Lists = {"Movies": rows("Film", 3), "TV Shows": rows("Show", 2)}


def page(day: date, lists: Lists) -> str:
    return flixpatrol_page(service="Netflix", country="the Netherlands", day=day, lists=lists)


def make_config(tmp_path: Path, server: SourceServer) -> Config:
    table = {
        "enabled": True,
        "base_url": server.base_url,
        "services": ["netflix"],
        "countries": ["NL"],
        "world": False,
        "lists": ["Movies", "TV Shows"],
        "backfill_days": 1,
        "request_interval": 0,
        **FAST_FETCH,
    }
    path = tmp_path / "config.toml"
    tables = {"sources.netflix": {"enabled": False}, "sources.flixpatrol": table}
    path.write_text(config_toml(tables), encoding="utf-8")  # type: ignore[arg-type]
    return load_config(path)


async def poll(
    config: Config, storage: Storage, http: AiohttpClient, now: datetime
) -> tuple[SourceReport, list[Event]]:
    return await poll_source(storage, config, http, now, "flixpatrol")


def swapped(lists: Lists) -> Lists:
    return {"Movies": lists["TV Shows"], "TV Shows": lists["Movies"]}


def retitled(text: str) -> Callable[[Lists], Lists]:
    def change(lists: Lists) -> Lists:
        first, *rest = lists["Movies"]
        return {**lists, "Movies": [(first[0], text, first[2]), *rest]}

    return change


BROKEN: dict[str, tuple[Callable[[Lists], Lists], str]] = {
    "lists under each other's heading": (swapped, "categories swapped?"),
    "a NUL in a title": (retitled("Film\x001"), "control character U+0000 in the page"),
    "a C1 control character in a title": (retitled("Film\x851"), "control character U+0085"),
    "a replacement character in a title": (retitled("Jos\ufffd 3"), "U+FFFD"),
}


async def reference_events(tmp_path: Path, storage: Storage, http: AiohttpClient) -> set[str]:
    async with SourceServer() as clean:
        clean.put(PATH1, page(DAY1, HEALTHY), content_type="text/html")
        clean.put(PATH2, page(DAY2, NEXT_DAY), content_type="text/html")
        config = make_config(tmp_path / "clean", clean)
        first, _ = await poll(config, storage, http, NOW - timedelta(days=1))
        second, events = await poll(config, storage, http, NOW)
        assert (first.failed, second.failed) == (False, False)
        return {event.key for event in events}


@pytest.mark.parametrize("variant", sorted(BROKEN))
async def test_a_broken_page_is_refused_and_the_good_one_follows(
    tmp_path: Path, server: SourceServer, http: AiohttpClient, variant: str
) -> None:
    (tmp_path / "clean").mkdir()
    clean_store = await open_backend("memory://")
    reference = await reference_events(tmp_path, clean_store, http)
    await clean_store.close()

    storage = await open_backend(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        server.put(PATH1, page(DAY1, HEALTHY), content_type="text/html")
        config = make_config(tmp_path, server)
        healthy, _ = await poll(config, storage, http, NOW - timedelta(days=1))
        assert (healthy.accepted, healthy.failed) == (2, False)

        make, reason = BROKEN[variant]
        server.put(PATH2, page(DAY2, make(NEXT_DAY)), content_type="text/html")
        report, events = await poll(config, storage, http, NOW)
        assert report.failed and reason in " | ".join(report.reasons())
        assert {event.key for event in events} < reference

        server.put(PATH2, page(DAY2, NEXT_DAY), content_type="text/html")
        good, later = await poll(config, storage, http, NOW)
        assert not good.failed, good.reasons()
        keys = [event.key for event in [*events, *later]]
        assert sorted(keys) == sorted(reference)
    finally:
        await storage.close()


async def test_an_undeclared_non_utf8_page_is_a_failed_fetch(
    tmp_path: Path, server: SourceServer, http: AiohttpClient
) -> None:
    storage = await open_backend("memory://")
    try:
        body = page(DAY2, retitled("José 3")(NEXT_DAY)).encode("cp1252")
        server.script(PATH2, Reply(200, body, "text/html"))
        config = make_config(tmp_path, server)
        report, events = await poll(config, storage, http, NOW)
        assert report.fetch_failures and events == []
        assert "not valid UTF-8 text" in report.reasons()[-1]
    finally:
        await storage.close()
