"""Netflix bodies that are no such file, and telling the file kinds apart by their header
(bot/sources/netflix/header.py)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from bot.sources.errors import SourceError
from bot.sources.netflix import (
    body_problem,
    iter_countries_file_by_period,
    parse_countries,
    parse_global,
    parse_most_popular,
    sniff_netflix_header,
)
from tests.netflix_files import (
    COUNTRIES,
    GLOBAL_7_COLUMNS,
    GLOBAL_CURRENT,
    GLOBAL_OVERRIDE,
    GLOBAL_STAGGERED,
    MOST_POPULAR_28,
    MOST_POPULAR_91,
    SNAPSHOT,
    fixture_lines,
    fixture_text,
)

# --------------------------------------------------------------------------- whole-body failures

HTML_MOVED = (
    "<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
    "<center><h1>301 Moved Permanently</h1></center>\r\n</body>\r\n</html>\r\n"
)

UNUSABLE_BODIES = [
    pytest.param("", "empty body", id="empty"),
    pytest.param("\n \n\t\n", "empty body", id="blank-lines"),
    pytest.param("null", "body is `null`", id="null"),
    pytest.param("null\n", "body is `null`", id="null-newline"),
    pytest.param(HTML_MOVED, "HTML page instead of TSV", id="html-moved"),
    pytest.param("\n  <!DOCTYPE html><html lang=en>", "HTML page instead of TSV", id="doctype"),
    pytest.param("Redirecting... <html><body>", "HTML page instead of TSV", id="html-inside"),
]


@pytest.mark.parametrize(("body", "reason"), UNUSABLE_BODIES)
def test_bodies_that_are_no_tsv_raise_with_their_reason(body: str, reason: str) -> None:
    for parse in (parse_global, parse_countries):
        with pytest.raises(SourceError) as raised:
            list(parse(body.split("\n"), what="https://top10.netflix.com/data/x.tsv"))
        assert raised.value.reason == reason
        assert raised.value.source == "netflix"
        assert raised.value.what == "https://top10.netflix.com/data/x.tsv"
    with pytest.raises(SourceError, match=reason.replace("`", ".")):
        parse_most_popular(body, SNAPSHOT)
    assert body_problem(body) == reason


@pytest.mark.parametrize(("body", "reason"), UNUSABLE_BODIES)
def test_streamed_reader_rejects_the_same_bodies(body: str, reason: str, tmp_path: Path) -> None:
    path = tmp_path / "all-weeks-countries.tsv"
    path.write_text(body, encoding="utf-8")

    with pytest.raises(SourceError) as raised:
        list(iter_countries_file_by_period(path))
    assert raised.value.reason == reason
    assert raised.value.what == "all-weeks-countries.tsv"


def test_unknown_header_is_rejected_and_shown() -> None:
    with pytest.raises(SourceError) as raised:
        list(parse_global(["title\trank\tweek_of", "Squid Game\t1\t2021-10-03"]))
    assert raised.value.reason.startswith("unexpected header: 'title\\trank\\tweek_of'")


def test_a_file_of_another_kind_is_rejected_with_its_kind() -> None:
    with pytest.raises(SourceError, match=r"unexpected header: .*looks like a countries file"):
        list(parse_global(fixture_lines(COUNTRIES)))
    with pytest.raises(SourceError, match=r"looks like a global file"):
        list(parse_countries(fixture_lines(GLOBAL_CURRENT)))
    with pytest.raises(SourceError, match=r"looks like a global file"):
        parse_most_popular(fixture_text(GLOBAL_CURRENT), SNAPSHOT)


def test_missing_required_columns_are_named() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    header = lines[0].split("\t")
    gone = {header.index("weekly_hours_viewed"), header.index("season_title")}
    trimmed = [
        "\t".join(f for i, f in enumerate(line.split("\t")) if i not in gone) for line in lines
    ]

    with pytest.raises(SourceError) as raised:
        list(parse_global(trimmed))
    assert raised.value.reason == "missing columns: season_title, weekly_hours_viewed"


def test_header_without_rows_is_not_an_empty_chart_list() -> None:
    with pytest.raises(SourceError, match="no data rows after the header"):
        list(parse_global(fixture_lines(GLOBAL_CURRENT)[:1]))
    with pytest.raises(SourceError, match="no data rows after the header"):
        list(parse_countries([fixture_lines(COUNTRIES)[0], ""]))


def test_a_file_of_only_broken_rows_raises_with_the_first_problem() -> None:
    lines = fixture_lines(GLOBAL_CURRENT)
    with pytest.raises(SourceError, match=r"no readable rows: line 2: expected 9 fields, found 2"):
        list(parse_global([lines[0], "2026-07-19\tFilms (Eng", "garbage"]))


def test_source_error_keeps_its_context_when_printed_and_pickled() -> None:
    error = SourceError("body is `null`", source="netflix", what="all-weeks-global.tsv")
    copy = pickle.loads(pickle.dumps(error))

    assert str(error) == "netflix: all-weeks-global.tsv: body is `null`"
    assert (copy.reason, copy.source, copy.what) == (error.reason, error.source, error.what)
    assert str(SourceError("empty body")) == "empty body"


# --------------------------------------------------------------------------- header sniffing


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        (GLOBAL_CURRENT, "global"),
        (GLOBAL_7_COLUMNS, "global"),
        (GLOBAL_STAGGERED, "global"),
        (GLOBAL_OVERRIDE, "global"),
        (COUNTRIES, "countries"),
        (MOST_POPULAR_91, "most_popular"),
        (MOST_POPULAR_28, "most_popular"),
    ],
)
def test_sniffing_recognises_every_real_header(name: str, kind: str) -> None:
    first_line = fixture_lines(name)[0]
    assert sniff_netflix_header(first_line) == kind
    assert sniff_netflix_header("\ufeff" + first_line + "\r\n") == kind


@pytest.mark.parametrize(
    "first_line",
    [
        "",
        "null",
        "<html>",
        "As of,Rank,Title",
        "week,category,weekly_rank",
        "2026-07-19\tFilms (English)\t1",
    ],
)
def test_sniffing_recognises_nothing_else(first_line: str) -> None:
    assert sniff_netflix_header(first_line) is None


def test_body_problem_accepts_real_files() -> None:
    for name in (GLOBAL_CURRENT, COUNTRIES, MOST_POPULAR_28):
        assert body_problem(fixture_text(name)) is None
