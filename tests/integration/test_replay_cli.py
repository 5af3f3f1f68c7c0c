"""`top10bot replay` / `import` / `db migrate` end to end on real data excerpts.

Golden files live in tests/fixtures/golden/. After an intended change of output, regenerate them
with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/integration/test_replay_cli.py` and review
the diff like any other change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.__main__ import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
GOLDEN = FIXTURES / "golden"
GLOBAL = FIXTURES / "netflix" / "all-weeks-global.tsv"
COUNTRIES_TV = GOLDEN / "countries-tv-2021-09-19_10-17.tsv"
THE_NUMBERS = FIXTURES / "daily" / "the-numbers-netflix-us-2021-07-16_26.csv"
ALL_TIME_OLD = FIXTURES / "netflix" / "most-popular.2022-02-09.tsv"
ALL_TIME_NEW = GOLDEN / "most-popular.2023-05-31.tsv"


def replay(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["replay", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"output differs from {path}"


@pytest.mark.parametrize(
    ("golden", "args"),
    [
        ("global.txt", [str(GLOBAL)]),
        ("global.jsonl", [str(GLOBAL), "--format", "jsonl"]),
        ("countries-tv.from-2021-10-17.txt", [str(COUNTRIES_TV), "--from", "2021-10-17"]),
        ("all-time-lists.txt", [str(ALL_TIME_OLD), str(ALL_TIME_NEW)]),
        ("the-numbers.txt", [str(THE_NUMBERS)]),
    ],
)
def test_replay_matches_golden_output(
    capsys: pytest.CaptureFixture[str], golden: str, args: list[str]
) -> None:
    code, out, _ = replay(capsys, *args)
    check_golden(golden, out)
    assert code == (1 if golden == "the-numbers.txt" else 0)


def test_replaying_twice_gives_byte_identical_output(capsys: pytest.CaptureFixture[str]) -> None:
    first = replay(capsys, str(GLOBAL), str(COUNTRIES_TV), "--format", "jsonl")
    second = replay(capsys, str(GLOBAL), str(COUNTRIES_TV), "--format", "jsonl")
    assert first == second
    assert first[1].count("\n") > 1000


def test_events_a_fan_expects_from_the_real_data(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = replay(capsys, str(COUNTRIES_TV), "--format", "jsonl")
    events = [json.loads(line) for line in out.splitlines()]
    # Squid Game went from #1 in 8 countries (week ending 2021-09-19) to 77 of 94 a week later.
    countries = [e for e in events if e["type"] == "countries_at_number_one"]
    assert [(e["title"], e["period"], e["value"], e["total_regions"]) for e in countries] == [
        ("Squid Game", "2021-09-26", 77, 94)
    ]
    korea = [
        (e["type"], e["period"], e.get("rank"), e.get("previous_rank"), e.get("value"))
        for e in events
        if e["region"] == "KR" and e["title"] == "Squid Game"
    ]
    assert ("number_one_streak", "2021-10-03", 1, None, 3) in korea
    us_new_number_one = [
        e["period"]
        for e in events
        if e["region"] == "US" and e["type"] == "new_number_one" and e["title"] == "Squid Game"
    ]
    assert us_new_number_one == ["2021-09-26"]


def test_rejected_charts_are_reported_and_make_the_command_fail(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = replay(capsys, str(THE_NUMBERS), "--format", "jsonl")
    assert code == 1
    rejected = [line for line in err.splitlines() if line.startswith("rejected: ")]
    bad_days = ["2021-07-20", "2021-07-21", "2021-07-22", "2021-07-23", "2021-07-25"]
    assert [line.split("@")[1].split(":")[0] for line in rejected] == bad_days
    assert all("duplicate title" in line for line in rejected)
    periods = {json.loads(line)["period"] for line in out.splitlines()}
    assert periods.isdisjoint(bad_days)


def _global_weeks(text: str) -> list[list[str]]:
    lines = text.split("\n")
    return [lines[0].split("\t"), *(line.split("\t") for line in lines[1:])]


def _write_tsv(path: Path, rows: list[list[str]]) -> Path:
    path.write_text("\n".join("\t".join(row) for row in rows), encoding="utf-8")
    return path


def _corrupt(rows: list[list[str]], week: str, how: str) -> list[list[str]]:
    header, body = rows[0], rows[1:]
    films = [r for r in body if r[0] == week and r[1] == "Films (English)"]
    others = [r for r in body if not (r[0] == week and r[1] == "Films (English)")]
    if how == "duplicate ranks":
        films[3] = [films[3][0], films[3][1], "3", *films[3][3:]]
    elif how == "three rows":
        films = films[:3]
    return [header, *films, *others]


@pytest.mark.parametrize(
    ("how", "reason"),
    [("duplicate ranks", "duplicate rank 3"), ("three rows", "3 rows, expected ranks 1..10")],
)
def test_a_broken_chart_is_rejected_with_its_reason_and_fires_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, how: str, reason: str
) -> None:
    rows = _global_weeks(GLOBAL.read_text(encoding="utf-8"))
    weeks = sorted({r[0] for r in rows[1:]})
    broken_week = weeks[4]
    path = _write_tsv(tmp_path / "all-weeks-global.tsv", _corrupt(rows, broken_week, how))

    code, out, err = replay(capsys, str(path), "--format", "jsonl")

    assert code == 1
    assert f"Films (English)/weekly@{broken_week}: {reason}" in err
    events = [json.loads(line) for line in out.splitlines()]
    assert not [
        e for e in events if e["period"] == broken_week and e["category"] == "Films (English)"
    ]
    # The other categories of that week, and later weeks, still produce their events.
    assert [e for e in events if e["period"] == broken_week]
    assert [e for e in events if e["period"] > broken_week and e["category"] == "Films (English)"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("<!DOCTYPE html><html><body>Moved Permanently</body></html>", "HTML page"),
        ("null", "body is `null`"),
        ("", "empty"),
    ],
)
def test_an_error_body_is_rejected_with_its_reason(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, body: str, reason: str
) -> None:
    path = tmp_path / "all-weeks-global.tsv"
    path.write_text(body, encoding="utf-8")
    code, out, err = replay(capsys, str(path))
    assert code != 0
    assert out == ""
    assert reason in err


def test_a_truncated_file_loses_only_its_cut_chart(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = GLOBAL.read_text(encoding="utf-8")
    cut = text[: text.rindex("\n", 0, len(text) - 200) + 15]  # stop mid-row near the end
    path = tmp_path / "all-weeks-global.tsv"
    path.write_text(cut, encoding="utf-8")
    code, out, err = replay(capsys, str(path))
    assert code == 1
    assert err.count("rejected: ") == 1
    assert out  # everything before the cut is still replayed


def test_import_then_replay_the_same_files_prints_nothing_new(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "history.db"
    assert main(["import", str(GLOBAL), "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("imported 1 file (")  # its summary, no events
    code, out, _ = replay(capsys, str(GLOBAL), "--db", str(db))
    assert (code, out) == (0, "")


def test_from_and_to_limit_the_events_printed(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = replay(
        capsys, str(COUNTRIES_TV), "--from", "2021-10-03", "--to", "2021-10-03", "--format", "jsonl"
    )
    periods = {json.loads(line)["period"] for line in out.splitlines()}
    assert periods == {"2021-10-03"}


def test_an_undated_all_time_list_needs_a_date(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    undated = tmp_path / "most-popular.tsv"
    undated.write_bytes(ALL_TIME_NEW.read_bytes())
    code, _, err = replay(capsys, str(undated))
    assert code != 0
    assert "FILE@YYYY-MM-DD" in err
    code, _, err = replay(capsys, f"{undated}@2023-05-31")
    assert (code, err) == (0, "")


def test_db_migrate_reports_the_schema_version(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "bot.db"
    assert main(["db", "migrate", "--db", str(db)]) == 0
    first = capsys.readouterr().out
    assert main(["db", "migrate", "--db", str(db)]) == 0
    assert capsys.readouterr().out == first
    assert first.startswith("schema version ")
