"""A hostile Netflix for the integration tests: the real poll fixtures broken in every way, and a
rig that builds a healthy history, serves a variant on 127.0.0.1 and polls it.

Each broken variant must be refused with a reason, produce no event of its own, count as a failed
poll; the good file served next must then give exactly the events a clean history gives, once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config, load_config
from bot.events import Event
from bot.poll import Poller, PollOutput
from bot.poll_config import load_poll_config
from bot.poll_report import SourceReport, failures_key
from bot.ports import Storage
from bot.sources import netflix
from handlers.http import AiohttpClient, open_http_client
from storage import open_backend
from tests.fakes.source_server import FAST_FETCH, FIXTURES, SourceServer, config_toml

GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")
COUNTRIES = (FIXTURES / "poll" / "all-weeks-countries.tsv").read_text(encoding="utf-8")
GLOBAL_PATH = "/tudum/top10/data/" + netflix.GLOBAL_FILE
COUNTRIES_PATH = "/tudum/top10/data/" + netflix.COUNTRIES_FILE
GLOBAL_NOW = datetime(2026, 7, 22, 14, 0, tzinfo=UTC)
COUNTRIES_NOW = datetime(2022, 3, 2, 14, 0, tzinfo=UTC)


def rows(text: str) -> tuple[str, list[list[str]]]:
    header, *lines = text.split("\n")
    return header, [line.split("\t") for line in lines]


def join(header: str, table: list[list[str]]) -> str:
    return "\n".join([header, *("\t".join(row) for row in table)])


def week_column(header: str) -> int:
    return header.split("\t").index("week")


def drop_weeks(text: str, *weeks: str) -> str:
    header, table = rows(text)
    column = week_column(header)
    return join(header, [row for row in table if row[column] not in weeks])


def edit_rows(text: str, week: str, edit: Callable[[list[str]], list[str] | None]) -> str:
    """Apply `edit` to each row of one week (None drops the row)."""
    header, table = rows(text)
    column = week_column(header)
    edited: list[list[str]] = []
    for row in table:
        if row[column] == week:
            changed = edit(list(row))
            if changed is None:
                continue
            row = changed
        edited.append(row)
    return join(header, edited)


def swap(column: int, first: str, second: str) -> Callable[[list[str]], list[str]]:
    def edit(row: list[str]) -> list[str]:
        if row[column] in (first, second):
            row[column] = second if row[column] == first else first
        return row

    return edit


def relabel_old_week(
    text: str, new: str, old: str, *, country: str | None = None, move: bool = False
) -> str:
    """The rows of week `new` replaced by those of week `old` under the label `new` (with
    `move`, week `old` is gone from the file: relabelled in place)."""
    header, table = rows(text)
    column = week_column(header)
    region = header.split("\t").index("country_iso2") if country else None

    def mine(row: list[str]) -> bool:
        return region is None or row[region] == country

    dropped = {new, old} if move else {new}
    kept = [row for row in table if not (row[column] in dropped and mine(row))]
    copies = [[*row[:column], new, *row[column + 1 :]] for row in table if row[column] == old]
    copies = [row for row in copies if mine(row)]
    return join(header, [*copies, *kept])


def copy_country(text: str, week: str, *, source: str, target: str) -> str:
    """`target`'s rows of `week` replaced by `source`'s under `target`'s name and code."""
    header, table = rows(text)
    column = week_column(header)
    name = next(row[0] for row in table if row[1] == target)
    copies = [[name, target, *row[2:]] for row in table if row[1] == source and row[column] == week]
    at = next(i for i, row in enumerate(table) if row[1] == target and row[column] == week)
    kept = [row for row in table if not (row[1] == target and row[column] == week)]
    return join(header, [*kept[:at], *copies, *kept[at:]])


def swapped_everywhere(
    text: str, column: int, first: str, second: str
) -> tuple[str, list[list[str]]]:
    header, table = rows(text)
    return header, [swap(column, first, second)(row) for row in table]


def reorder_columns(text: str) -> str:
    header, table = rows(text)
    names = header.split("\t")
    order = list(reversed(range(len(names))))
    return join("\t".join(names[i] for i in order), [[row[i] for i in order] for row in table])


def extra_column(text: str) -> str:
    header, table = rows(text)
    return join(header + "\tis_staff_pick", [[*row, "0"] for row in table])


def without_country(text: str, country: str) -> tuple[str, list[list[str]]]:
    header, table = rows(text)
    return header, [row for row in table if row[1] != country]


LEGITIMATE: dict[str, Callable[[str], bytes]] = {  # accepted as the file itself
    "UTF-8 BOM": lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    "CRLF line ends": lambda text: text.replace("\n", "\r\n").encode("utf-8"),
    "trailing newline": lambda text: (text + "\n").encode("utf-8"),
    "reordered columns": lambda text: reorder_columns(text).encode("utf-8"),
    "an extra column": lambda text: extra_column(text).encode("utf-8"),
}


# --------------------------------------------------------------------------- harness


@dataclass
class Rig:
    server: SourceServer
    http: AiohttpClient
    storage: Storage
    config: Config
    now: datetime

    async def poll(self) -> tuple[SourceReport, list[Event]]:
        return await poll_source(self.storage, self.config, self.http, self.now, "netflix")


async def poll_source(
    storage: Storage, config: Config, http: AiohttpClient, now: datetime, source: str
) -> tuple[SourceReport, list[Event]]:
    """One poll of `source` at `now`: its report and the fresh events it sent."""
    events: list[Event] = []

    async def collect(new: list[Event]) -> None:
        events.extend(new)

    poller = Poller(
        storage,
        load_poll_config(config),
        config.diff,
        http=http,
        output=PollOutput(events=collect),
        clock=lambda: now,
    )
    return await poller.poll(source), events


def make_config(tmp_path: Path, server: SourceServer, name: str, file: str) -> Config:
    path = tmp_path / f"{name}.toml"
    tables = {
        "storage": {"url": f"sqlite:///{tmp_path / name}.db"},
        "sources.netflix": {"base_url": server.netflix_base, "files": [file], **FAST_FETCH},
    }
    path.write_text(config_toml(tables), encoding="utf-8")  # type: ignore[arg-type]
    return load_config(path)


@asynccontextmanager
async def open_rig(
    tmp_path: Path, server: SourceServer, name: str, file: str, now: datetime
) -> AsyncIterator[Rig]:
    config = make_config(tmp_path, server, name, file)
    storage = await open_backend(config.storage.url)
    try:
        async with open_http_client() as http:
            yield Rig(server, http, storage, config, now)
    finally:
        await storage.close()


FileCase = tuple[str, str, str, datetime, str]  # kind, path, full text, now, newest week
GLOBAL_CASE: FileCase = ("global", GLOBAL_PATH, GLOBAL, GLOBAL_NOW, "2026-07-19")
COUNTRIES_CASE: FileCase = ("countries", COUNTRIES_PATH, COUNTRIES, COUNTRIES_NOW, "2022-02-27")


@asynccontextmanager
async def healthy_rig(
    tmp_path: Path, server: SourceServer, case: FileCase, name: str = "bot"
) -> AsyncIterator[Rig]:
    """A rig whose store holds every week but the newest, polled from the real file."""
    kind, path, text, now, newest = case
    async with open_rig(tmp_path, server, name, kind, now) as rig:
        server.put(path, drop_weeks(text, newest))
        report, _ = await rig.poll()
        assert report.accepted > 0 and not report.failed, report.reasons()
        yield rig


async def good_events(tmp_path: Path, case: FileCase) -> set[str]:
    """The events the newest week gives after a clean history (on a server of its own)."""
    async with SourceServer() as clean, healthy_rig(tmp_path, clean, case, "reference") as rig:
        clean.put(case[1], case[2])
        report, events = await rig.poll()
        assert not report.failed and events
        return {event.key for event in events}


async def assert_refused_then_recovers(
    rig: Rig, case: FileCase, reference: set[str], reason: str, *, fetch_failure: bool | None = None
) -> None:
    """The broken file fails the poll with `reason`; charts it refused make no event (the others
    of its week may be accepted, each chart is judged on its own), polled again it gives
    nothing and fails again (never "unchanged"); the good file then brings the rest, so that the
    polls together give each good event exactly once."""
    report, events = await rig.poll()
    assert report.failed
    assert reason in " | ".join(report.reasons())
    if fetch_failure is not None:
        assert bool(report.fetch_failures) == fetch_failure
    assert await rig.storage.get_meta(failures_key("netflix")) == "1"
    assert {event.key for event in events} < reference

    # The same broken file polled again (a 304, or the same bytes, when it was refused as a
    # whole): nothing new is taken from it, and it is still a failure, never "unchanged".
    again, more = await rig.poll()
    assert (again.accepted, more, again.failed) == (0, [], True), again.summary_line()
    assert await rig.storage.get_meta(failures_key("netflix")) == "2"

    rig.server.put(case[1], case[2])
    good, later = await rig.poll()
    assert not good.failed, good.reasons()
    keys = [event.key for event in [*events, *later]]
    assert sorted(keys) == sorted(reference)
    again, _ = await rig.poll()
    assert (again.accepted, again.events, again.failed) == (0, 0, False)


async def assert_accepted_like_the_file(
    tmp_path: Path, server: SourceServer, case: FileCase, body: bytes, charts: int
) -> None:
    """`body` (the newest file, written another legitimate way) gives what the file gives."""
    reference = await good_events(tmp_path, case)
    async with healthy_rig(tmp_path, server, case) as rig:
        server.put(case[1], body)
        report, events = await rig.poll()
        assert (report.accepted, report.rejected, report.failed) == (charts, 0, False), (
            report.reasons()
        )
        assert {event.key for event in events} == reference
