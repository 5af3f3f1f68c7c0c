"""A poll's report in a line: the summary, and what went wrong in a few words."""

from __future__ import annotations

import pytest

from bot.poll_report import SourceReport

URL = "https://www.netflix.com/tudum/top10/data/all-weeks-global.tsv"
LABEL = "netflix/netflix/WORLD/TV (English)/weekly@2022-02-06"


@pytest.mark.parametrize(
    ("report", "summary", "problem"),
    [
        (
            SourceReport("netflix", accepted=3, events=42, queued=120),
            "netflix: 3 charts accepted, 0 rejected, 42 events, 120 deliveries queued",
            None,
        ),
        (
            SourceReport("netflix", accepted=1, events=1, queued=1, unchanged=2),
            "netflix: 1 chart accepted, 0 rejected, 1 event, 1 delivery queued (2 unchanged)",
            None,
        ),
        (
            SourceReport(
                "netflix",
                rejected=4,
                fetch_failures=[f"{URL}: connection refused", "https://x/most-popular.tsv: b"],
                rejections=[(LABEL, "fetch failed: connection refused")] * 4,
            ),
            "netflix: 0 charts accepted, 4 rejected, 0 events (2 fetches failed)",
            f"netflix: fetch failed: connection refused ({URL} and 1 more)",
        ),
        (
            SourceReport(
                "netflix", rejected=2, fetched=1, rejections=[(LABEL, "body is `null`")] * 2
            ),
            "netflix: 0 charts accepted, 2 rejected, 0 events",
            f"netflix: 2 charts rejected: body is `null` ({LABEL} and 1 more)",
        ),
        (
            SourceReport("flixpatrol", error="RuntimeError: parser bug"),
            "flixpatrol: 0 charts accepted, 0 rejected, 0 events (error: RuntimeError: parser bug)",
            "flixpatrol: poll failed: RuntimeError: parser bug",
        ),
    ],
)
def test_a_report_in_one_line_and_its_problem_in_another(
    report: SourceReport, summary: str, problem: str | None
) -> None:
    assert report.summary_line() == summary
    assert report.problem_line() == problem


def test_rejections_caused_by_a_failed_fetch_are_not_listed_again() -> None:
    report = SourceReport(
        "netflix",
        fetch_failures=[f"{URL}: HTTP 503"],
        rejections=[(LABEL, "fetch failed: HTTP 503"), ("other", "too few rows")],
    )
    assert report.gate_rejections() == [("other", "too few rows")]
    assert report.reasons() == [f"{URL}: HTTP 503", "other: too few rows"]
    assert report.nothing_fetched
