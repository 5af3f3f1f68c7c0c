"""A hostile Netflix: broken variants of the real files served after a healthy history.

Every broken variant must be refused with a reason, produce no event, count as a failed poll; and
the good file served next must give exactly the events a clean history would have given, once.
Every legitimate variant (BOM, CRLF, reordered or extra columns, gzip) must be accepted as is.
"""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import Config, load_config
from bot.events import Event
from bot.poll import Poller, PollOutput
from bot.poll_config import load_poll_config
from bot.poll_report import SourceReport, failures_key
from bot.ports import Storage
from bot.sources import netflix
from handlers.http import AiohttpClient, open_http_client
from storage import open_storage
from tests.fakes.source_server import FAST_FETCH, FIXTURES, Reply, SourceServer, config_toml

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


def _swapped_everywhere(
    text: str, column: int, first: str, second: str
) -> tuple[str, list[list[str]]]:
    header, table = rows(text)
    return header, [swap(column, first, second)(row) for row in table]


# --------------------------------------------------------------------------- harness


@dataclass
class Rig:
    server: SourceServer
    http: AiohttpClient
    storage: Storage
    config: Config
    now: datetime

    async def poll(self) -> tuple[SourceReport, list[Event]]:
        events: list[Event] = []

        async def collect(new: list[Event]) -> None:
            events.extend(new)

        poller = Poller(
            self.storage,
            load_poll_config(self.config),
            self.config.diff,
            http=self.http,
            output=PollOutput(events=collect, catchup=lambda summary: _ignore()),
            clock=lambda: self.now,
        )
        return await poller.poll("netflix"), events


async def _ignore() -> None:
    return None


@pytest.fixture
async def server() -> AsyncIterator[SourceServer]:
    async with SourceServer() as running:
        yield running


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
    storage = await open_storage(config.storage.url)
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
    rig: Rig, case: FileCase, reference: set[str], reason: str, *, fetch_failure: bool = False
) -> None:
    """The broken file fails the poll with `reason`; charts it refused make no event (the others
    of its week may be accepted, each chart is judged on its own); the good file then brings
    the rest, so that both polls together give each good event exactly once."""
    report, events = await rig.poll()
    assert report.failed
    assert reason in " | ".join(report.reasons())
    assert bool(report.fetch_failures) == fetch_failure
    assert await rig.storage.get_meta(failures_key("netflix")) == "1"
    assert {event.key for event in events} < reference

    rig.server.put(case[1], case[2])
    good, later = await rig.poll()
    assert not good.failed, good.reasons()
    keys = [event.key for event in [*events, *later]]
    assert sorted(keys) == sorted(reference)
    again, _ = await rig.poll()
    assert (again.accepted, again.events, again.failed) == (0, 0, False)


# --------------------------------------------------------------------------- the global file

NEWEST = "2026-07-19"
GLOBAL_BROKEN: dict[str, tuple[Callable[[str], str | bytes], str]] = {
    "categories swapped in the newest week": (
        lambda text: edit_rows(text, NEWEST, swap(1, "Films (English)", "TV (English)")),
        "categories swapped?",
    ),
    "categories swapped in every week": (
        lambda text: join(*_swapped_everywhere(text, 1, "Films (English)", "TV (English)")),
        "categories swapped?",
    ),
    "non-English categories swapped": (
        lambda text: edit_rows(text, NEWEST, swap(1, "Films (Non-English)", "TV (Non-English)")),
        "categories swapped?",
    ),
    "the newest week is an old week relabelled": (
        lambda text: relabel_old_week(text, NEWEST, "2026-05-03"),
        "an old period relabelled",
    ),
    "an old week moved to the newest": (
        lambda text: relabel_old_week(text, NEWEST, "2026-06-28", move=True),
        "(an old period relabelled?)",
    ),
    "every week shifted by one": (
        lambda text: relabel_old_week(drop_weeks(text, "2026-05-03"), NEWEST, "2026-07-12"),
        "stale copy",
    ),
    "the newest week goes backwards": (
        lambda text: drop_weeks(text, NEWEST, "2026-07-12"),
        "older than the stored 2026-07-12",
    ),
    "an old file whose newest week is relabelled": (
        lambda text: relabel_old_week(
            drop_weeks(text, "2026-07-12", "2026-07-05"), NEWEST, "2026-06-28"
        ),
        "does not continue the history",
    ),
    "a category never seen": (
        lambda text: edit_rows(text, NEWEST, swap(1, "TV (Non-English)", "TV (Non English)")),
        "category 'TV (Non English)' is not one this file has",
    ),
    "a category missing from the newest week": (
        lambda text: edit_rows(text, NEWEST, lambda row: None if row[1] == "TV (English)" else row),
        "WORLD/TV (English)/weekly@2026-07-19: missing from the file's week 2026-07-19",
    ),
    "a NUL in a title": (
        lambda text: text.replace("Desire\t", "Des\x00ire\t", 1),
        "control character U+0000",
    ),
    "a C1 control character in a title": (
        lambda text: text.replace("Desire\t", "Des\x85ire\t", 1),
        "control character U+0085",
    ),
    "cut mid-row": (lambda text: text[:-7], "ends mid-row"),
    "cut on a row boundary": (
        lambda text: text.rsplit("\n", 3)[0],
        "file cut short: its last chart",
    ),
}


@pytest.mark.parametrize("variant", sorted(GLOBAL_BROKEN))
async def test_broken_global_file_is_refused_and_the_good_one_follows(
    tmp_path: Path, server: SourceServer, variant: str
) -> None:
    reference = await good_events(tmp_path, GLOBAL_CASE)
    make, reason = GLOBAL_BROKEN[variant]
    async with healthy_rig(tmp_path, server, GLOBAL_CASE) as rig:
        server.put(GLOBAL_PATH, make(GLOBAL))
        await assert_refused_then_recovers(rig, GLOBAL_CASE, reference, reason)


async def test_undeclared_latin1_body_is_a_failed_fetch(
    tmp_path: Path, server: SourceServer
) -> None:
    reference = await good_events(tmp_path, GLOBAL_CASE)
    async with healthy_rig(tmp_path, server, GLOBAL_CASE) as rig:
        server.put(GLOBAL_PATH, GLOBAL.replace("Desire", "José Totoy").encode("cp1252", "replace"))
        await assert_refused_then_recovers(
            rig, GLOBAL_CASE, reference, "not valid UTF-8 text", fetch_failure=True
        )


async def test_declared_charset_is_honoured(tmp_path: Path, server: SourceServer) -> None:
    async with healthy_rig(tmp_path, server, GLOBAL_CASE) as rig:
        cp1252 = GLOBAL.replace("Desire", "José Totoy").encode("cp1252", "replace")
        server.script(GLOBAL_PATH, Reply(200, cp1252, "text/tab-separated-values; charset=cp1252"))
        report, events = await rig.poll()
        assert (report.accepted, report.failed) == (4, False), report.reasons()
        assert any(event.title == "José Totoy" for event in events)


async def test_304_to_a_request_without_validators_is_a_failure(
    tmp_path: Path, server: SourceServer
) -> None:
    async with open_rig(tmp_path, server, "bot", "global", GLOBAL_NOW) as rig:
        server.script(GLOBAL_PATH, Reply(304))
        report, events = await rig.poll()
        assert report.failed and events == []
        assert "304 Not Modified to a request without validators" in report.reasons()[0]
        # A broken first poll pins nothing: the first good file imports the whole history.
        server.put(GLOBAL_PATH, GLOBAL)
        first, _ = await rig.poll()
        assert (first.accepted, first.failed) == (48, False)


async def test_one_oversized_body_does_not_lock_the_source_out(
    tmp_path: Path, server: SourceServer
) -> None:
    async with healthy_rig(tmp_path, server, GLOBAL_CASE) as rig:
        padded = drop_weeks(GLOBAL, NEWEST) + "\n" * (len(GLOBAL) * 4)
        server.put(GLOBAL_PATH, padded)
        unchanged, _ = await rig.poll()
        assert not unchanged.failed
        server.put(GLOBAL_PATH, GLOBAL)
        report, events = await rig.poll()
        assert (report.accepted, report.failed) == (4, False), report.reasons()
        assert events


async def test_a_body_far_below_the_recent_median_is_refused(
    tmp_path: Path, server: SourceServer
) -> None:
    async with healthy_rig(tmp_path, server, GLOBAL_CASE) as rig:
        newest_only = drop_weeks(GLOBAL, *[f"2026-{week}" for week in ("05-03", "05-10")])
        header, table = rows(newest_only)
        server.put(GLOBAL_PATH, join(header, table[: len(table) // 4]))
        report, _ = await rig.poll()
        assert report.failed
        assert "far smaller than usual" in " ".join(report.reasons())


async def test_poll_once_exits_1_on_a_refused_file(
    tmp_path: Path, server: SourceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    async with healthy_rig(tmp_path, server, GLOBAL_CASE):
        server.put(GLOBAL_PATH, drop_weeks(GLOBAL, NEWEST, "2026-07-12"))
    # main() runs its own event loop: give it a thread so this test's loop keeps serving HTTP.
    config = str(tmp_path / "bot.toml")
    code = await asyncio.to_thread(main, ["--config", config, "poll", "--once"])
    assert code == 1
    assert "older than the stored 2026-07-12" in capsys.readouterr().err


# --------------------------------------------------------------------------- legitimate variants

GLOBAL_LEGITIMATE: dict[str, Callable[[str], bytes]] = {
    "UTF-8 BOM": lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    "CRLF line ends": lambda text: text.replace("\n", "\r\n").encode("utf-8"),
    "trailing newline": lambda text: (text + "\n").encode("utf-8"),
    "reordered columns": lambda text: reorder_columns(text).encode("utf-8"),
    "an extra column": lambda text: extra_column(text).encode("utf-8"),
}


def reorder_columns(text: str) -> str:
    header, table = rows(text)
    names = header.split("\t")
    order = list(reversed(range(len(names))))
    return join("\t".join(names[i] for i in order), [[row[i] for i in order] for row in table])


def extra_column(text: str) -> str:
    header, table = rows(text)
    return join(header + "\tis_staff_pick", [[*row, "0"] for row in table])


@pytest.mark.parametrize("variant", sorted(GLOBAL_LEGITIMATE))
async def test_legitimate_global_variants_are_accepted(
    tmp_path: Path, server: SourceServer, variant: str
) -> None:
    reference = await good_events(tmp_path, GLOBAL_CASE)
    async with healthy_rig(tmp_path, server, GLOBAL_CASE) as rig:
        server.put(GLOBAL_PATH, GLOBAL_LEGITIMATE[variant](GLOBAL))
        report, events = await rig.poll()
        assert (report.accepted, report.rejected, report.failed) == (4, 0, False), report.reasons()
        assert {event.key for event in events} == reference


async def test_gzip_encoded_file_is_accepted(tmp_path: Path, server: SourceServer) -> None:
    reference = await good_events(tmp_path, GLOBAL_CASE)
    async with healthy_rig(tmp_path, server, GLOBAL_CASE) as rig:
        body = gzip.compress(GLOBAL.encode("utf-8"))
        server.script(GLOBAL_PATH, Reply(200, body, headers={"Content-Encoding": "gzip"}))
        report, events = await rig.poll()
        assert (report.accepted, report.failed) == (4, False), report.reasons()
        assert {event.key for event in events} == reference


# --------------------------------------------------------------------------- the per-country file

WEEK = "2022-02-27"
COUNTRIES_BROKEN: dict[str, tuple[Callable[[str], str], str]] = {
    "one country's categories swapped": (
        lambda text: edit_rows(
            text, WEEK, lambda row: swap(3, "Films", "TV")(row) if row[1] == "KR" else row
        ),
        "categories swapped?",
    ),
    "categories swapped in every week": (
        lambda text: join(*_swapped_everywhere(text, 3, "Films", "TV")),
        "categories swapped?",
    ),
    "one country's newest week is an old week relabelled": (
        lambda text: relabel_old_week(text, WEEK, "2022-01-30", country="DE"),
        "an old period relabelled",
    ),
    "one country's old week moved to the newest": (
        lambda text: relabel_old_week(text, WEEK, "2022-02-06", country="GB", move=True),
        "(an old period relabelled?)",
    ),
    "a category never seen": (
        lambda text: edit_rows(text, WEEK, swap(3, "TV", "Series")),
        "category 'Series' is not one this file has",
    ),
    "the last countries missing entirely": (
        lambda text: join(*_without_country(text, "US")),
        "no rows at all for US",
    ),
    "the newest week of the last country missing": (
        lambda text: edit_rows(text, WEEK, lambda row: None if row[1] == "US" else row),
        "missing from the file's week 2022-02-27",
    ),
    "cut mid-row": (lambda text: text[:-9], "ends mid-row"),
    "a NUL in a title": (
        lambda text: text.replace("\tRestless\t", "\tRest\x00less\t", 1),
        "control character U+0000",
    ),
}


def _without_country(text: str, country: str) -> tuple[str, list[list[str]]]:
    header, table = rows(text)
    return header, [row for row in table if row[1] != country]


@pytest.mark.parametrize("variant", sorted(COUNTRIES_BROKEN))
async def test_broken_countries_file_is_refused_and_the_good_one_follows(
    tmp_path: Path, server: SourceServer, variant: str
) -> None:
    reference = await good_events(tmp_path, COUNTRIES_CASE)
    make, reason = COUNTRIES_BROKEN[variant]
    async with healthy_rig(tmp_path, server, COUNTRIES_CASE) as rig:
        server.put(COUNTRIES_PATH, make(COUNTRIES))
        await assert_refused_then_recovers(rig, COUNTRIES_CASE, reference, reason)


async def test_a_first_poll_of_a_cut_file_does_not_pin_the_history(
    tmp_path: Path, server: SourceServer
) -> None:
    async with open_rig(tmp_path, server, "bot", "countries", COUNTRIES_NOW) as rig:
        server.put(COUNTRIES_PATH, join(*_without_country(COUNTRIES, "US")))
        first, _ = await rig.poll()
        assert first.accepted == 5 * 5 * 2
        server.put(COUNTRIES_PATH, COUNTRIES)
        second, _ = await rig.poll()
        # The missing country's whole history comes in with the first complete file.
        assert (second.accepted, second.failed) == (5 * 2, False), second.reasons()
