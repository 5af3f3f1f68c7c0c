"""Title cards built from a real week: "All of Us Are Dead", week ending 2022-02-06, in Netflix's
global Top 10 and all 94 countries of its per-country file (tests/fixtures/cards)."""

from __future__ import annotations

import contextlib
import io
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.delivery.digest import DigestPart, build_digest
from bot.events import Event
from bot.i18n import ENGLISH, Translator, translator
from bot.models import normalise_title
from bot.ports import Delivery
from bot.subscriptions import ChatSettings, SubscriptionSpec, subscription_matches
from handlers.telegram.notifier import TELEGRAM_TEXT_MAX, telegram_text_length

CARDS = Path(__file__).resolve().parent.parent / "fixtures" / "cards"
COUNTRIES_TV = CARDS / "countries-tv-2022-01-30_02-06.tsv"
GLOBAL = CARDS / "global-2022-01-30_02-06.tsv"
WEEK = date(2022, 2, 6)
AOUAD = normalise_title("All of Us Are Dead")


@pytest.fixture(scope="module")
def week_events() -> list[Event]:
    """The replayed events of the week ending 2022-02-06 (the week before is the baseline)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["replay", str(COUNTRIES_TV), str(GLOBAL), "--format", "jsonl"]) == 0
    events = [Event.from_json(json.loads(line)) for line in out.getvalue().splitlines()]
    return [event for event in events if event.period == WEEK]


def digest_for(
    events: list[Event], spec: SubscriptionSpec, tr: Translator = ENGLISH
) -> list[DigestPart]:
    wanted = [event for event in events if subscription_matches(spec, ChatSettings(), event)]
    queued = datetime(2022, 2, 8, tzinfo=UTC)
    deliveries = [Delivery(n, event, 0, 0, queued) for n, event in enumerate(wanted, start=1)]
    return build_digest(deliveries, TELEGRAM_TEXT_MAX, telegram_text_length, tr)


@pytest.mark.parametrize("details", [False, True], ids=["headlines", "details"])
def test_a_title_subscriber_gets_one_card_for_the_week(
    week_events: list[Event], details: bool
) -> None:
    spec = SubscriptionSpec(show=AOUAD, show_title="All of Us Are Dead", details=details)
    (message,) = digest_for(week_events, spec)
    lines = message.text.split("\n")
    assert 5 <= len(lines) <= 15
    assert lines[0] == "All of Us Are Dead: Season 1 — week ending 2022-02-06"
    # Worldwide first, then the countries aggregated, then the milestones.
    assert lines[1] == (
        "Worldwide · TV (Non-English): All of Us Are Dead: Season 1 is #1 for 2 weeks in a row"
    )
    assert lines[2].startswith("Worldwide · TV (Non-English): All of Us Are Dead: Season 1 passes")
    assert lines[3] == "#1 in 63 of 94 countries — new #1 in 38, incl. US, GB, BR"
    assert ("Top 10 in 94 of 94 countries" in lines) is details
    assert "#1 for 2 weeks in a row in 25 countries, incl. KR, JP, IN" in lines
    assert lines[-1] == "Every country: /title All of Us Are Dead"
    assert [button.label for button in message.buttons] == ["🌍 All countries"]
    # Every delivery of the title's week is marked sent with the card.
    assert len(message.delivery_ids) == (144 if details else 73)


def test_a_korean_chat_gets_the_card_in_korean(week_events: list[Event]) -> None:
    """The same card, cut the same way, in the chat's language (Babel's dates and numbers)."""
    spec = SubscriptionSpec(show=AOUAD, show_title="All of Us Are Dead", details=True)
    (english,) = digest_for(week_events, spec)
    (korean,) = digest_for(week_events, spec, translator("ko"))
    lines = korean.text.split("\n")
    assert len(lines) == len(english.text.split("\n"))
    assert korean.delivery_ids == english.delivery_ids
    assert lines[0] == "All of Us Are Dead: Season 1 — 2022년 2월 6일까지의 주간"
    assert lines[1] == "전 세계 · TV (비영어): All of Us Are Dead: Season 1, 2주 연속 1위"
    assert lines[2].startswith("전 세계 · TV (비영어): All of Us Are Dead: Season 1, 누적 시청")
    assert lines[3] == "94개국 중 63개국 1위 — 38개국에서 새로 1위 (US, GB, BR 포함)"
    assert "94개국 중 94개국 TOP 10" in lines
    assert "25개국 (KR, JP, IN 포함): 2주 연속 1위" in lines
    assert lines[-1] == "모든 국가 보기: /title All of Us Are Dead"
    assert [button.label for button in korean.buttons] == ["🌍 모든 국가"]


def test_a_chart_family_subscriber_gets_the_title_as_one_card_among_other_lines(
    week_events: list[Event],
) -> None:
    parts = digest_for(week_events, SubscriptionSpec(category="TV"))
    texts = "\n".join(part.text for part in parts)
    assert texts.count("All of Us Are Dead: Season 1 — week ending 2022-02-06") == 1
    assert "new #1 in Austria" not in texts.replace("\n", " ")
    card_parts = [part for part in parts if part.buttons]
    assert card_parts and all(len(part.buttons) <= 5 for part in card_parts)
