"""A body refused as a whole is remembered as refused: the same body is refused again without
being downloaded (a 304 naming its ETag) or parsed (its SHA-256), and still fails the poll; a new
body is judged afresh, and a file only partly refused is fetched and read again."""

from __future__ import annotations

from pathlib import Path

from bot.poll_report import failures_key
from bot.sources.conditional import REFUSED_PREFIX
from tests.fakes.source_server import SourceServer
from tests.hostile_netflix import (
    COUNTRIES,
    COUNTRIES_CASE,
    COUNTRIES_PATH,
    GLOBAL,
    GLOBAL_CASE,
    GLOBAL_PATH,
    FileCase,
    Rig,
    edit_rows,
    good_events,
    healthy_rig,
)

REFUSED_AGAIN = "unchanged since refused: "


def cut_mid_row(text: str) -> str:
    return text[:-9]


async def assert_refused_again(rig: Rig, reason: str, failures: int) -> None:
    report, events = await rig.poll()
    assert report.failed and not events
    assert report.fetched == 0  # no body went to a parser
    assert report.reasons() and all(REFUSED_AGAIN + reason in why for why in report.reasons())
    assert await rig.storage.get_meta(failures_key("netflix")) == str(failures)


async def assert_fixed_file_processed_once(rig: Rig, case: FileCase, reference: set[str]) -> None:
    rig.server.put(case[1], case[2])
    good, events = await rig.poll()
    assert not good.failed, good.reasons()
    assert sorted(event.key for event in events) == sorted(reference)
    url = rig.server.base_url.rstrip("/") + case[1]
    assert not await rig.storage.get_meta(REFUSED_PREFIX + url)
    again, later = await rig.poll()
    assert (again.failed, again.unchanged, later) == (False, 1, [])


async def test_a_broken_file_with_an_etag_is_downloaded_once_then_answered_304(
    tmp_path: Path, server: SourceServer
) -> None:
    reference = await good_events(tmp_path, COUNTRIES_CASE)
    broken = cut_mid_row(COUNTRIES)
    async with healthy_rig(tmp_path, server, COUNTRIES_CASE) as rig:
        processed_etag = server.etag(COUNTRIES_PATH)
        server.put(COUNTRIES_PATH, broken)
        before = server.bytes_sent(COUNTRIES_PATH)
        first, _ = await rig.poll()
        assert first.failed and "ends mid-row" in " | ".join(first.reasons())
        assert server.bytes_sent(COUNTRIES_PATH) - before == len(broken.encode("utf-8"))

        for failures in (2, 3, 4):
            await assert_refused_again(rig, "", failures)
            hit = server.hits[-1]
            assert hit.status == 304 and hit.body_size == 0
            # Both bodies are asked about: the processed one and the refused one.
            asked = hit.headers["If-None-Match"]
            assert asked == f"{processed_etag}, {server.etag(COUNTRIES_PATH)}"
        assert server.bytes_sent(COUNTRIES_PATH) - before == len(broken.encode("utf-8"))
        assert "ends mid-row" in " | ".join((await rig.poll())[0].reasons())

        await assert_fixed_file_processed_once(rig, COUNTRIES_CASE, reference)


async def test_the_same_bytes_without_validators_are_refused_unread(
    tmp_path: Path, server: SourceServer
) -> None:
    reference = await good_events(tmp_path, GLOBAL_CASE)
    async with healthy_rig(tmp_path, server, GLOBAL_CASE) as rig:
        server.put(GLOBAL_PATH, cut_mid_row(GLOBAL), validators=False)
        first, _ = await rig.poll()
        assert first.failed and first.fetched == 1
        await assert_refused_again(rig, "file cut short", 2)
        assert server.hits[-1].status == 200  # downloaded (nothing to ask with), not parsed

        # Another broken body is judged afresh, with its own reason.
        server.put(GLOBAL_PATH, GLOBAL.replace("\tTV (English)\t", "\tTV (Non English)\t"))
        other, _ = await rig.poll()
        assert other.failed and other.fetched == 1
        assert not any(REFUSED_AGAIN in why for why in other.reasons())

        await assert_fixed_file_processed_once(rig, GLOBAL_CASE, reference)


async def test_a_partly_refused_file_is_refused_again_unread(
    tmp_path: Path, server: SourceServer
) -> None:
    """Some charts taken, others missing, judged against a stored history: read again, the same
    bytes would meet a history they moved themselves, so the next polls refuse them unread."""
    reference = await good_events(tmp_path, COUNTRIES_CASE)
    partial = edit_rows(COUNTRIES, "2022-02-27", lambda row: None if row[1] == "US" else row)
    async with healthy_rig(tmp_path, server, COUNTRIES_CASE) as rig:
        server.put(COUNTRIES_PATH, partial)
        first, events = await rig.poll()
        assert first.failed and first.accepted == 5 * 2
        await assert_refused_again(rig, "missing from the file's week 2022-02-27", 2)

        server.put(COUNTRIES_PATH, COUNTRIES)
        good, later = await rig.poll()
        assert (good.failed, good.accepted) == (False, 2)
        assert sorted(event.key for event in [*events, *later]) == sorted(reference)


async def test_a_far_smaller_file_is_judged_again_each_time(
    tmp_path: Path, server: SourceServer
) -> None:
    """Its verdict depends on the median of recent sizes, which its own downloads move: it is
    never refused unread, so a file that really shrank is accepted after a few polls."""
    async with healthy_rig(tmp_path, server, GLOBAL_CASE) as rig:
        lines = GLOBAL.split("\n")
        server.put(GLOBAL_PATH, "\n".join(lines[: len(lines) // 3]) + "\n")
        first, _ = await rig.poll()
        assert "far smaller than usual" in " | ".join(first.reasons())
        # Its own size moved the median: judged afresh, it fails for what it really is.
        second, _ = await rig.poll()
        assert second.failed and second.fetched == 1
        assert "file cut short" in " | ".join(second.reasons())
        assert not any(REFUSED_AGAIN in why for why in second.reasons())


async def test_a_streamed_file_that_is_not_text_is_not_downloaded_again(
    tmp_path: Path, server: SourceServer
) -> None:
    """The client refuses it as it reads it (a Latin-1 byte): remembered by its ETag all the
    same, so the next polls get a 304 for it."""
    reference = await good_events(tmp_path, COUNTRIES_CASE)
    broken = COUNTRIES.encode("utf-8").replace(b"\tRestless\t", b"\tRestl\xe9ss\t")
    async with healthy_rig(tmp_path, server, COUNTRIES_CASE) as rig:
        server.put(COUNTRIES_PATH, broken)
        first, _ = await rig.poll()
        assert first.failed and first.fetch_failures
        assert "not valid UTF-8" in first.fetch_failures[0]
        sent = server.bytes_sent(COUNTRIES_PATH)
        await assert_refused_again(rig, "fetch failed: body is not valid UTF-8", 2)
        assert server.hits[-1].status == 304 and server.bytes_sent(COUNTRIES_PATH) == sent

        await assert_fixed_file_processed_once(rig, COUNTRIES_CASE, reference)
