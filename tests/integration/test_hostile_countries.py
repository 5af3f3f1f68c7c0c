"""The per-country file: broken variants after a healthy history (see tests/hostile_netflix.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes.source_server import SourceServer
from tests.hostile_netflix import (
    COUNTRIES,
    COUNTRIES_CASE,
    COUNTRIES_NOW,
    COUNTRIES_PATH,
    assert_refused_then_recovers,
    copy_country,
    drop_weeks,
    edit_rows,
    good_events,
    healthy_rig,
    join,
    open_rig,
    relabel_old_week,
    swap,
    swapped_everywhere,
    without_country,
)

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
        lambda text: join(*swapped_everywhere(text, 3, "Films", "TV")),
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
    "one country's list copied from another country": (
        lambda text: copy_country(text, WEEK, source="GB", target="DE"),
        "(another chart's counts?)",
    ),
    "a category never seen": (
        lambda text: edit_rows(text, WEEK, swap(3, "TV", "Series")),
        "category 'Series' is not one this file has",
    ),
    "the last countries missing entirely": (
        lambda text: join(*without_country(text, "US")),
        "no rows at all for US",
    ),
    "the newest week of the last country missing": (
        lambda text: edit_rows(text, WEEK, lambda row: None if row[1] == "US" else row),
        "missing from the file's week 2022-02-27",
    ),
    "cut mid-row": (lambda text: text[:-9], "ends mid-row"),
    "the newest week goes backwards": (
        lambda text: drop_weeks(text, WEEK, "2022-02-20"),
        "older than the stored 2022-02-20",
    ),
    "one country's newest week twice": (
        lambda text: (
            text + "\n" + "\n".join(line for line in text.split("\n") if f"\tUS\t{WEEK}\t" in line)
        ),
        "the file holds this chart twice",
    ),
    "a NUL in a title": (
        lambda text: text.replace("\tRestless\t", "\tRest\x00less\t", 1),
        "control character U+0000",
    ),
}


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
        server.put(COUNTRIES_PATH, join(*without_country(COUNTRIES, "US")))
        first, _ = await rig.poll()
        assert first.accepted == 5 * 5 * 2
        server.put(COUNTRIES_PATH, COUNTRIES)
        second, _ = await rig.poll()
        # The missing country's whole history comes in with the first complete file.
        assert (second.accepted, second.failed) == (5 * 2, False), second.reasons()
