"""/top10 on the real Korean, German and worldwide lists."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.commands import CommandService
from bot.poll_report import LastPoll, last_poll_key
from tests.unit.commands.command_helpers import Clock, member, run


async def test_top10_kr_is_the_latest_korean_tv_list(service: CommandService) -> None:
    reply = await run(service, "/top10 KR")
    assert reply.ok
    assert reply.title == "🇰🇷 Top 10 — Netflix · South Korea · TV"
    assert len(reply.lines) == 10
    assert reply.lines[0] == "1. Hellbound: Season 1 🆕 · 1 wk"
    assert reply.lines[6] == "7. Squid Game: Season 1 ▼2 · 10 wk"
    assert "week ending 2021-11-21" in reply.footer
    assert "Netflix Top 10 (official)" in reply.footer
    assert "also: Films" in reply.footer


async def test_top10_world_has_hours_and_a_date_picks_an_older_week(
    service: CommandService,
) -> None:
    world = await run(service, "/top10 world")
    assert world.title.endswith("Worldwide · TV (English)")
    assert world.lines[0] == "1. Arcane: Season 1 ▲1 · 2 wk · 38.42M h"
    older = await run(service, "/top10 korea tv 2021-10-12")
    assert older.lines[0].startswith("1. Squid Game: Season 1")
    assert "week ending 2021-10-10 (latest on or before 2021-10-12)" in older.footer


async def test_top10_names_and_categories_resolve_the_same_chart(service: CommandService) -> None:
    by_code = await run(service, "/top10 KR Films")
    by_name = await service.execute(
        "top10", {"region": "South Korea", "category": "movies", "service": "Netflix"}, member()
    )
    assert by_code == by_name
    assert by_code.title.endswith("South Korea · Films")


@pytest.mark.parametrize(
    ("text", "title", "hint"),
    [
        ("/top10 south kora", "Unknown region 'south kora'", "South Korea (KR)"),
        ("/top10 FR", "No chart stored for France", None),
        ("/top10 KR hulu", "No Hulu chart for South Korea", "Netflix"),
        ("/top10 KR category=documentaries", "Unknown category 'documentaries'", None),
        ("/top10 KR 2021-01-01", "No chart for South Korea on or before 2021-01-01", None),
        ("/top10 KR 2022-02-30", "Not a date: '2022-02-30'", None),
        ("/top10 KR 2030-01-01", "2030-01-01 is in the future", None),
    ],
)
async def test_top10_bad_input_gets_a_helpful_answer(
    service: CommandService, text: str, title: str, hint: str | None
) -> None:
    reply = await run(service, text)
    assert not reply.ok
    assert reply.title == title
    if hint is not None:
        assert hint in reply.suggestions


@pytest.mark.parametrize(
    "text",
    [
        "/top10 world non-english tv",
        "/top10 non-english tv world",
        "/top10 tv world non english",
        "/top10 world series non-english",
        "/top10 world TV (Non-English)",
        "/top10 region=world category=non-english shows",
    ],
)
async def test_category_words_work_in_any_order(service: CommandService, text: str) -> None:
    reply = await run(service, text)
    assert reply.ok, reply.title
    assert reply.title == "🌍 Top 10 — Netflix · Worldwide · TV (Non-English)"


async def test_english_films_in_either_order(service: CommandService) -> None:
    first = await run(service, "/top10 english films world")
    second = await run(service, "/top10 world movies english")
    assert first.title == second.title == "🌍 Top 10 — Netflix · Worldwide · Films (English)"


async def test_reentries_are_marked_apart_from_debuts(service: CommandService) -> None:
    reply = await run(service, "/top10 GB")
    # PAW Patrol was in the British list before 2021-11-14 and is back on 2021-11-21.
    paw = next(line for line in reply.lines if "PAW Patrol" in line)
    assert paw.startswith("9. PAW Patrol") and "↩ back" in paw and "🆕" not in paw
    korea = await run(service, "/top10 KR")
    assert korea.lines[0] == "1. Hellbound: Season 1 🆕 · 1 wk"


async def test_stale_chart_says_its_age_and_the_last_poll(service: CommandService) -> None:
    fresh = await run(service, "/top10 KR")  # three days after the week: not stale
    assert "old" not in fresh.footer and fresh.footer.endswith("source not polled yet")
    polled = LastPoll(datetime(2026, 12, 6, 4, 0, tzinfo=UTC), True, "netflix: 0 new", 0)
    await service.storage.set_meta(last_poll_key("netflix"), polled.to_json())
    later = CommandService(
        service.storage, service.subscriptions, clock=Clock(datetime(2026, 12, 6, tzinfo=UTC))
    )
    stale = await run(later, "/top10 KR")
    assert stale.footer.endswith(
        "⚠️ chart of 2021-11-21 — 5 years old · source last polled 2026-12-06 04:00 UTC"
    )
