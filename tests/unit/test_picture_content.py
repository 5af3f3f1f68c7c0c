"""What pictures show, decided in the core (pure): the lines of a title's rank chart, the rows of
a chart card, which followed chart a burst pictures, and how a digest with a picture is cut."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.chart_movement import Movement
from bot.delivery.burst_picture import followed_chart
from bot.delivery.digest import HEADER_BUDGET, build_digest
from bot.events import Event, EventType
from bot.i18n import ENGLISH, translator
from bot.models import WORLD, Chart, ChartKey, Entry
from bot.pictures.chart_card import chart_card
from bot.pictures.model import ChartRef
from bot.pictures.title_chart import (
    MAX_PERIODS,
    MAX_SERIES,
    picture_filename,
    title_rank_chart,
)
from bot.ports import Delivery, RankPoint
from bot.subscriptions import Destination, Subscription, SubscriptionSpec
from handlers.telegram.notifier import telegram_text_length

WEEK = timedelta(days=7)
START = date(2021, 9, 19)


def key(region: str, category: str = "TV", granularity: str = "weekly") -> ChartKey:
    return ChartKey("netflix", "netflix", region, category, granularity)  # type: ignore[arg-type]


def run(region: str, ranks: list[int | None], *, category: str = "TV", title_id: str = "s1"):
    """A title's appearances in one chart, week by week from START (None: not in the Top 10)."""
    return [
        (title_id, RankPoint(key(region, category), START + WEEK * week, rank))
        for week, rank in enumerate(ranks)
        if rank is not None
    ]


# -- the title's rank chart ---------------------------------------------------------------------


def test_worldwide_comes_first_then_the_countries_it_charted_longest_and_highest() -> None:
    appearances = [
        *run("KR", [3, 2, 2, 1]),
        *run(WORLD, [None, 1, 1, 1], category="TV (Non-English)"),
        *run("US", [None, None, 4, 2]),
        *run("JP", [4, 1, 1, 1]),  # as long as KR, higher on average
        *run("DE", [None, None, None, 9]),
    ]
    chart = title_rank_chart("Squid Game", appearances, ENGLISH)
    assert chart is not None
    assert [s.label for s in chart.series] == [
        "Worldwide",
        "Japan",
        "South Korea",
        "United States",
        "Germany",
    ]
    assert chart.series[0].points == tuple((START + WEEK * w, 1) for w in (1, 2, 3))
    assert chart.periods == tuple(START + WEEK * w for w in range(4))
    assert chart.subtitle == "Netflix Top 10 (official) · weekly rank"


def test_at_most_five_lines_one_per_country_and_the_best_place_of_two_seasons() -> None:
    countries = ["US", "GB", "KR", "JP", "IN", "BR", "DE", "FR"]
    appearances = [p for code in countries for p in run(code, [2, 2])]
    appearances += run("US", [6, 6], category="Films")  # the same country's other list
    appearances += run("US", [1, 5], title_id="s2")  # another season in the same chart
    chart = title_rank_chart("Show", appearances, ENGLISH)
    assert chart is not None
    assert len(chart.series) == MAX_SERIES
    labels = [s.label for s in chart.series]
    assert len(set(labels)) == len(labels)
    us = chart.series[labels.index("United States")]
    assert [rank for _, rank in us.points] == [1, 2]


def test_several_worldwide_lists_are_named_by_their_category() -> None:
    appearances = [
        *run(WORLD, [1, 1], category="TV (English)"),
        *run(WORLD, [4], category="Films (English)"),
    ]
    chart = title_rank_chart("Show", appearances, ENGLISH)
    assert chart is not None
    assert [s.label for s in chart.series] == [
        "Worldwide · TV (English)",
        "Worldwide · Films (English)",
    ]


def test_a_long_history_shows_the_latest_run_and_gaps_stay_gaps() -> None:
    ranks: list[int | None] = [5] * 40 + [None, None] + [1, 2]
    chart = title_rank_chart("Show", run("KR", ranks), ENGLISH)
    assert chart is not None
    assert len(chart.periods) == MAX_PERIODS["weekly"]
    assert chart.periods[-1] == START + WEEK * 43
    (series,) = chart.series
    shown = dict(series.points)
    assert START + WEEK * 40 not in shown and shown[START + WEEK * 42] == 1


def test_the_richer_history_wins_and_all_time_lists_are_no_history() -> None:
    flixpatrol = ChartKey("flixpatrol", "netflix", "KR", "TV Shows", "daily")
    daily = [("s1", RankPoint(flixpatrol, START + timedelta(days=d), 2)) for d in range(10)]
    chart = title_rank_chart("Show", [*run("KR", [1, 1]), *daily], ENGLISH)
    assert chart is not None
    assert chart.granularity == "daily" and chart.subtitle == "FlixPatrol · Netflix · daily rank"
    alltime = ChartKey("netflix", "netflix", WORLD, "TV (English)", "alltime")
    assert title_rank_chart("Show", [("s1", RankPoint(alltime, START, 3))], ENGLISH) is None


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Squid Game", "rank-squid-game.png"),
        ("Café con aroma de mujer", "rank-cafe-con-aroma-de-mujer.png"),
        ("오징어 게임", "rank.png"),
        ("Money Heist: Part 5 / ../../etc", "rank-money-heist-part-5-etc.png"),
    ],
)
def test_picture_file_names_are_plain(text: str, name: str) -> None:
    assert picture_filename("rank", text) == name


# -- the chart card ------------------------------------------------------------------------------


def chart(period: date, *entries: Entry) -> Chart:
    return Chart(key(WORLD, "TV (Non-English)"), period, entries)


def test_a_card_row_says_rank_title_movement_and_what_the_source_measures() -> None:
    before = chart(
        START,
        Entry(1, "a", "Hellbound", "Hellbound: Season 1"),
        Entry(2, "b", "Squid Game", "Squid Game: Season 1"),
        Entry(3, "c", "Gone"),
    )
    now = chart(
        START + WEEK,
        Entry(1, "b", "Squid Game", "Squid Game: Season 1", hours=412_900_000, weeks_in_top10=4),
        Entry(2, "a", "Hellbound", "Hellbound: Season 1", views=12_300_000, weeks_in_top10=2),
        Entry(3, "d", "Debut", weeks_in_top10=1),
        Entry(4, "e", "Returning", weeks_in_top10=6),
        Entry(5, "f", "Back From History"),
    )
    card = chart_card(now, before, ENGLISH, returning={"e", "f"})
    assert card.heading == "Worldwide · TV (Non-English)"
    assert card.subtitle == "Netflix Top 10 (official) · week ending 2021-09-26"
    assert [(r.rank, r.title, r.movement, r.mark, r.detail) for r in card.rows] == [
        (1, "Squid Game: Season 1", Movement.UP, "▲1", "4 wk · 412.9M h"),
        (2, "Hellbound: Season 1", Movement.DOWN, "▼1", "2 wk · 12.3M views"),
        (3, "Debut", Movement.NEW, "NEW", "1 wk"),
        (4, "Returning", Movement.BACK, "BACK", "6 wk"),
        (5, "Back From History", Movement.BACK, "BACK", ""),
    ]
    baseline = chart_card(before, None, ENGLISH)
    assert {(row.movement, row.mark) for row in baseline.rows} == {(Movement.UNKNOWN, "")}


def test_a_korean_chats_pictures_say_it_in_korean() -> None:
    korean = translator("ko")
    appearances = [*run("KR", [3, 1]), *run(WORLD, [2, 1], category="TV (Non-English)")]
    chart = title_rank_chart("오징어 게임", appearances, korean)
    assert chart is not None
    assert [s.label for s in chart.series] == ["전 세계", "대한민국"]
    assert chart.subtitle == "Netflix TOP 10 (공식) · 주간 순위"
    assert chart.period_labels == ("9월 19일", "9월 26일")
    assert chart.axis_label == "주 마감일 · 2021"
    before = Chart(key("KR"), START, (Entry(1, "b", "Hellbound"),))
    now = Chart(
        key("KR"),
        START + WEEK,
        (
            Entry(1, "a", "오징어 게임", weeks_in_top10=1),
            Entry(2, "b", "Hellbound", hours=12_300_000),
        ),
    )
    card = chart_card(now, before, korean)
    assert card.heading == "대한민국 · TV"
    assert card.subtitle == "Netflix TOP 10 (공식) · 2021년 9월 26일까지의 주간"
    assert [(row.mark, row.detail) for row in card.rows] == [("신규", "1주"), ("▼1", "1230만시간")]


# -- which chart a burst pictures ----------------------------------------------------------------

KR_TV = key("KR")
WORLD_TV = key(WORLD, "TV (Non-English)")


def news(kind: EventType, chart_key: ChartKey, title: str, period: date = START) -> Event:
    return Event(kind, chart_key, period, title.lower(), title, None, rank=1)


def subscribed(*specs: SubscriptionSpec) -> list[Subscription]:
    where = Destination("telegram", "1")
    return [Subscription(i, where, spec) for i, spec in enumerate(specs, start=1)]


def test_a_chat_that_follows_a_chart_gets_that_charts_card() -> None:
    events = [
        news(EventType.ENTERED, KR_TV, "B"),
        news(EventType.NEW_NUMBER_ONE, KR_TV, "A"),
    ]
    assert followed_chart(events, subscribed(SubscriptionSpec(region="KR"))) == ChartRef(
        KR_TV, START
    )


def test_worldwide_first_then_the_newest_period_among_followed_charts() -> None:
    events = [
        news(EventType.RECORD_BROKEN, KR_TV, "A", START + WEEK),
        news(EventType.ENTERED, WORLD_TV, "B"),
        news(EventType.ENTERED, key("JP"), "C", START + WEEK * 2),
    ]
    every_tv = subscribed(SubscriptionSpec(category="TV"))
    assert followed_chart(events, every_tv) == ChartRef(WORLD_TV, START)
    assert followed_chart(events[::2], every_tv) == ChartRef(key("JP"), START + WEEK * 2)


def test_a_chat_that_follows_only_titles_or_event_types_gets_no_card() -> None:
    events = [news(EventType.NEW_NUMBER_ONE, KR_TV, "Squid Game")]
    assert followed_chart(events, subscribed(SubscriptionSpec(show="squid game"))) is None
    assert followed_chart(events, subscribed(SubscriptionSpec(details=True))) is None
    alltime = key(WORLD, "TV (English)", "alltime")
    only_alltime = [news(EventType.ALL_TIME_LIST, alltime, "Wednesday")]
    assert followed_chart(only_alltime, subscribed(SubscriptionSpec(region=WORLD))) is None


# -- a digest with a picture ----------------------------------------------------------------------


def many_deliveries(count: int) -> list[Delivery]:
    queued = datetime(2021, 9, 21, tzinfo=UTC)
    return [
        Delivery(
            i + 1, news(EventType.ENTERED, KR_TV, f"A fairly long show title {i}"), 0, 0, queued
        )
        for i in range(count)
    ]


def test_the_picture_goes_with_the_first_message_cut_to_the_caption_limit() -> None:
    ref = ChartRef(KR_TV, START)
    parts = build_digest(
        many_deliveries(60), 4096, telegram_text_length, ENGLISH, picture=ref, caption_limit=1024
    )
    assert parts[0].picture == ref and all(p.picture is None for p in parts[1:])
    assert telegram_text_length(parts[0].text) <= 1024
    assert all(telegram_text_length(p.text) <= 4096 for p in parts)
    assert max(telegram_text_length(p.text) for p in parts[1:]) > 1024 + HEADER_BUDGET
    carried = [i for p in parts for i in p.delivery_ids]
    assert sorted(carried) == list(range(1, 61))
    # The same deliveries are always cut the same way (the same keys after a crash).
    again = build_digest(
        many_deliveries(60), 4096, telegram_text_length, ENGLISH, picture=ref, caption_limit=1024
    )
    assert [p.idempotency_key for p in again] == [p.idempotency_key for p in parts]


def test_without_a_picture_the_caption_limit_changes_nothing() -> None:
    plain = build_digest(many_deliveries(60), 4096, telegram_text_length, ENGLISH)
    limited = build_digest(
        many_deliveries(60), 4096, telegram_text_length, ENGLISH, caption_limit=1024
    )
    assert plain == limited
