"""The global file, broken, and both weekly files written other legitimate ways, after a healthy
history (see tests/hostile_netflix.py)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.poll_report import failures_key
from tests.fakes.source_server import Reply, SourceServer
from tests.hostile_netflix import (
    COUNTRIES_CASE,
    GLOBAL,
    GLOBAL_CASE,
    GLOBAL_NOW,
    GLOBAL_PATH,
    LEGITIMATE,
    FileCase,
    assert_accepted_like_the_file,
    assert_refused_then_recovers,
    drop_weeks,
    edit_rows,
    good_events,
    healthy_rig,
    join,
    open_rig,
    relabel_old_week,
    rows,
    swap,
    swapped_everywhere,
)

# --------------------------------------------------------------------------- the global file

NEWEST = "2026-07-19"
GLOBAL_BROKEN: dict[str, tuple[Callable[[str], str | bytes], str]] = {
    "categories swapped in the newest week": (
        lambda text: edit_rows(text, NEWEST, swap(1, "Films (English)", "TV (English)")),
        "categories swapped?",
    ),
    "categories swapped in every week": (
        lambda text: join(*swapped_everywhere(text, 1, "Films (English)", "TV (English)")),
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
    "the newest week twice": (
        lambda text: text + "\n" + "\n".join(line for line in text.split("\n") if NEWEST in line),
        "not contiguous",
    ),
    "a week that is not a Sunday": (
        lambda text: text.replace(NEWEST, "2026-07-20"),
        "week 2026-07-20 is not a Sunday",
    ),
    "a week in the future": (
        lambda text: text.replace(NEWEST, "2026-07-26"),
        "is after today",
    ),
    "UTF-16 without a declared charset": (
        lambda text: text.encode("utf-16"),
        "not valid UTF-8 text",
    ),
    "gzip bytes without Content-Encoding": (
        lambda text: gzip.compress(text.encode("utf-8")),
        "not valid UTF-8 text",
    ),
    "an HTML page": (
        lambda text: "<!DOCTYPE html><html><body>Not Found</body></html>",
        "HTML page instead of TSV",
    ),
    "null": (lambda text: "null", "body is `null`"),
    "the header alone": (lambda text: text.split("\n", 1)[0], "far smaller than usual"),
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


async def test_an_oversized_first_body_does_not_pin_the_size_baseline(
    tmp_path: Path, server: SourceServer
) -> None:
    async with open_rig(tmp_path, server, "bot", "global", GLOBAL_NOW) as rig:
        server.put(GLOBAL_PATH, drop_weeks(GLOBAL, NEWEST) + "\n" * (len(GLOBAL) * 4))
        first, _ = await rig.poll()
        assert (first.accepted, first.failed) == (44, False)
        server.put(GLOBAL_PATH, GLOBAL)
        refused, _ = await rig.poll()
        assert "far smaller than usual" in " ".join(refused.reasons())
        # The normal size seen once outvotes the odd one: the next poll takes the new week.
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


@pytest.mark.parametrize("variant", sorted(LEGITIMATE))
@pytest.mark.parametrize(("case", "charts"), [(GLOBAL_CASE, 4), (COUNTRIES_CASE, 12)])
async def test_legitimate_variants_of_both_weekly_files_are_accepted(
    tmp_path: Path, server: SourceServer, variant: str, case: FileCase, charts: int
) -> None:
    body = LEGITIMATE[variant](case[2])
    await assert_accepted_like_the_file(tmp_path, server, case, body, charts)


async def test_gzip_encoded_file_is_accepted(tmp_path: Path, server: SourceServer) -> None:
    reference = await good_events(tmp_path, GLOBAL_CASE)
    async with healthy_rig(tmp_path, server, GLOBAL_CASE) as rig:
        body = gzip.compress(GLOBAL.encode("utf-8"))
        server.script(GLOBAL_PATH, Reply(200, body, headers={"Content-Encoding": "gzip"}))
        report, events = await rig.poll()
        assert (report.accepted, report.failed) == (4, False), report.reasons()
        assert {event.key for event in events} == reference


async def test_a_first_import_partly_rejected_is_read_again_then_refused(
    tmp_path: Path, server: SourceServer
) -> None:
    reference = await good_events(tmp_path, GLOBAL_CASE)
    async with open_rig(tmp_path, server, "bot", "global", GLOBAL_NOW) as rig:
        server.put(GLOBAL_PATH, GLOBAL.replace("Desire\t", "Des\x00ire\t", 1))
        first, _ = await rig.poll()
        assert (first.accepted, first.rejected, first.failed) == (47, 1, True)
        # Nothing was stored before: the body is neither processed nor refused, so it is read
        # again. The chart it gave is not stored twice; the one the gate rejected still fails.
        again, events = await rig.poll()
        assert (again.fetched, again.unchanged) == (1, 0)
        assert (again.accepted, again.rejected, again.failed, events) == (0, 1, True, [])
        assert "control character U+0000" in " ".join(again.reasons())
        # Judged against a stored history now, the same bytes are refused unread.
        third, _ = await rig.poll()
        assert (third.fetched, third.accepted, third.failed) == (0, 0, True)
        assert "unchanged since refused: " in " ".join(third.reasons())
        assert await rig.storage.get_meta(failures_key("netflix")) == "3"
        server.put(GLOBAL_PATH, GLOBAL)
        good, later = await rig.poll()
        assert (good.accepted, good.failed) == (1, False), good.reasons()
        assert later and {event.key for event in later} <= reference
