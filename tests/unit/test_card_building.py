"""Title cards (bot.delivery.cards) and how a digest carries them (bot.delivery.digest)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bot.delivery.cards import CARD_MAX_LINES, build_cards
from bot.delivery.digest import build_digest
from bot.events import Event, EventType, Record
from bot.i18n import ENGLISH
from bot.models import WORLD, ChartKey
from bot.ports import Delivery

WEEK = date(2022, 2, 6)
E = EventType


def news(kind: EventType, region: str, title: str = "Hellbound", **details: Any) -> Event:
    chart = ChartKey("netflix", "netflix", region, "TV", "weekly")
    return Event(kind, chart, WEEK, title.lower(), title, None, **details)


def deliveries(events: list[Event]) -> list[Delivery]:
    queued = datetime(2022, 2, 8, tzinfo=UTC)
    return [Delivery(n, event, 0, 0, queued) for n, event in enumerate(events, start=1)]


def test_a_title_with_news_from_few_charts_stays_a_line_per_event() -> None:
    two = [news(E.NEW_NUMBER_ONE, "KR", rank=1, previous_rank=2), news(E.ENTERED, "JP", rank=4)]
    cards, rest = build_cards(two, ENGLISH)
    assert cards == [] and rest == two


def test_a_card_groups_one_title_and_leaves_the_others() -> None:
    title_news = [news(E.NEW_NUMBER_ONE, region, rank=1, previous_rank=2) for region in "ABC"]
    other = news(E.ENTERED, "KR", title="Juvenile Justice", rank=5)
    cards, rest = build_cards([*title_news, other], ENGLISH)
    assert rest == [other]
    (card,) = cards
    assert card.lines[1] == "#1 in 3 countries — new #1 in 3, incl. A, B, C"
    assert set(card.events) == set(title_news)


def test_a_card_never_grows_past_its_line_budget() -> None:
    events = [news(E.TOP10_STREAK, WORLD, rank=2, value=2, unit="weeks")]
    # Twenty kinds of news (one streak length each) and five records in the countries.
    for length in range(2, 22):
        events.append(news(E.TOP10_STREAK, f"R{length}", rank=3, value=length, unit="weeks"))
    for n in range(5):
        events.append(
            news(
                E.RECORD_BROKEN,
                f"Q{n}",
                rank=1,
                value=9,
                unit="weeks",
                record=Record.LONGEST_NUMBER_ONE_RUN,
                since=date(2021, 1, 3),
            )
        )
    (card,), _ = build_cards(events, ENGLISH)
    assert len(card.lines) == CARD_MAX_LINES
    assert card.lines[-2].startswith("… and ") and card.lines[-2].endswith(" more (see /title)")
    assert card.lines[-1] == "Every country: /title Hellbound"
    assert "since January 2021" in card.text


def test_a_digest_with_one_card_sends_it_alone_and_a_mixed_one_gets_a_header() -> None:
    title_news = [news(E.NEW_NUMBER_ONE, region, rank=1, previous_rank=2) for region in "ABCD"]
    (alone,) = build_digest(deliveries(title_news), 4096, len, ENGLISH)
    assert alone.text.startswith("Hellbound — week ending 2022-02-06\n")
    assert alone.delivery_ids == (1, 2, 3, 4) and len(alone.buttons) == 1

    other = news(E.ENTERED, "KR", title="Juvenile Justice", rank=5)
    (mixed,) = build_digest(deliveries([*title_news, other]), 4096, len, ENGLISH)
    assert mixed.text.split("\n")[:2] == ["2 chart updates", "Hellbound — week ending 2022-02-06"]
    assert mixed.text.endswith("South Korea · TV: Juvenile Justice enters the Top 10 at #5")
    assert sorted(mixed.delivery_ids) == [1, 2, 3, 4, 5] and len(mixed.buttons) == 1
