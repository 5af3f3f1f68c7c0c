"""The pure part of delivery (bot/delivery): digests, their cutting, idempotency keys, quiet
hours, and the text splitting of everything that is not a digest."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.digest import (
    HEADER_BUDGET,
    MAX_IDEMPOTENCY_KEY,
    build_digest,
    digest_order,
    idempotency_key,
)
from bot.delivery.quiet_hours import QuietHours, quiet_hours_of, quiet_until
from bot.events import Event, EventType
from bot.i18n import ENGLISH
from bot.models import WORLD, ChartKey
from bot.ports import Delivery
from bot.render import event_line
from bot.subscriptions import ChatSettings
from handlers.telegram.notifier import telegram_text_length as utf16_length

KEY = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
KR = ChartKey("netflix", "netflix", "KR", "TV (Non-English)", "weekly")
PERIOD = date(2026, 3, 1)


def event(kind: EventType, title: str, rank: int = 1, chart: ChartKey = KEY) -> Event:
    return Event(kind, chart, PERIOD, title.lower().replace(" ", "-"), title, None, rank=rank)


QUEUED = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)  # two days after PERIOD ended


def deliveries(
    events: list[Event], first_id: int = 1, queued_at: datetime = QUEUED
) -> list[Delivery]:
    return [Delivery(first_id + i, e, 0, 0, queued_at) for i, e in enumerate(events)]


def test_one_event_is_sent_as_its_line_alone() -> None:
    only = event(EventType.NEW_NUMBER_ONE, "Squid Game")
    [part] = build_digest(deliveries([only], first_id=7), 4096, utf16_length, ENGLISH)
    assert part.text == event_line(only, ENGLISH)
    assert part.delivery_ids == (7,)
    assert part.idempotency_key == idempotency_key([7])


def test_several_events_become_one_message_most_important_first() -> None:
    entered = event(EventType.ENTERED, "Newcomer", rank=8)
    record = event(EventType.RECORD_BROKEN, "Record Holder")
    number_one = event(EventType.NEW_NUMBER_ONE, "Top Show")
    [part] = build_digest(deliveries([entered, record, number_one]), 4096, utf16_length, ENGLISH)
    lines = part.text.split("\n")
    assert lines[0] == "3 chart updates"
    assert lines[1:] == [
        "• " + event_line(record, ENGLISH),
        "• " + event_line(number_one, ENGLISH),
        "• " + event_line(entered, ENGLISH),
    ]
    assert sorted(part.delivery_ids) == [1, 2, 3]


def test_digest_order_is_stable_for_equal_importance() -> None:
    a = event(EventType.ENTERED, "Alpha", rank=9)
    b = event(EventType.ENTERED, "Beta", rank=4)
    c = event(EventType.ENTERED, "Gamma", rank=6, chart=KR)
    assert digest_order([a, b, c]) == digest_order([c, b, a])
    assert [e.rank for e in digest_order([a, b]) if e.chart == KEY] == [4, 9]


def many_events(count: int) -> list[Event]:
    kinds = list(EventType)
    return [
        event(kinds[i % len(kinds)], f"Show number {i} with a longish title", rank=1 + i % 10)
        for i in range(count)
    ]


@pytest.mark.parametrize("limit", [400, 700, 2000, 4096])
def test_a_long_digest_is_cut_between_lines_within_the_limit(limit: int) -> None:
    events = many_events(60)
    parts = build_digest(deliveries(events), limit, utf16_length, ENGLISH)
    assert len(parts) > 1
    all_lines: list[str] = []
    for number, part in enumerate(parts, start=1):
        assert utf16_length(part.text) <= limit
        header, *lines = part.text.split("\n")
        assert header == f"60 chart updates ({number}/{len(parts)})"
        all_lines.extend(lines)
    # Every event once, whole, in importance order across the parts.
    assert all_lines == ["• " + event_line(e, ENGLISH) for e in digest_order(events)]
    ids = [i for part in parts for i in part.delivery_ids]
    assert sorted(ids) == list(range(1, 61))
    assert len({part.idempotency_key for part in parts}) == len(parts)


def test_the_limit_is_measured_the_way_the_platform_counts() -> None:
    """A notifier that escapes markup counts the escaped length (Discord's markdown)."""
    events = [event(EventType.ENTERED, f"*Starry*_{i}_", rank=5) for i in range(30)]

    def escaped(text: str) -> int:
        return len(text.replace("*", "\\*").replace("_", "\\_"))

    for part in build_digest(deliveries(events), 500, escaped, ENGLISH):
        assert escaped(part.text) <= 500


def test_a_line_longer_than_a_message_is_wrapped_not_lost() -> None:
    giant = event(EventType.NEW_NUMBER_ONE, "word " * 150)
    small = event(EventType.ENTERED, "Small", rank=3)
    parts = build_digest(deliveries([giant, small]), 300, utf16_length, ENGLISH)
    assert all(utf16_length(p.text) <= 300 for p in parts)
    body = " ".join(line for p in parts for line in p.text.split("\n")[1:])
    assert (
        body.split()
        == ("• " + event_line(giant, ENGLISH) + " • " + event_line(small, ENGLISH)).split()
    )
    # The giant event is marked sent with the part that holds the end of its line.
    assert sorted(i for p in parts for i in p.delivery_ids) == [1, 2]
    assert len({p.idempotency_key for p in parts}) == len(parts)


@settings(max_examples=60, deadline=None)
@given(
    count=st.integers(min_value=2, max_value=80),
    # From 400 up no line of these events needs wrapping (a wrapped line may be resent).
    limit=st.integers(min_value=400, max_value=3000),
    sent_parts=st.integers(min_value=1, max_value=10),
)
def test_after_a_crash_the_rest_of_a_digest_is_cut_as_before(
    count: int, limit: int, sent_parts: int
) -> None:
    """Parts still to send after a crash keep their deliveries and keys (Discord's nonce)."""
    rows = deliveries(many_events(count))
    parts = build_digest(rows, limit, utf16_length, ENGLISH)
    sent = min(sent_parts, len(parts) - 1)
    done = {i for part in parts[:sent] for i in part.delivery_ids}
    rest = build_digest([d for d in rows if d.id not in done], limit, utf16_length, ENGLISH)
    if len(parts) - sent == 1 and len(rest) == 1 and len(rest[0].delivery_ids) == 1:
        # A lone event is sent without a header: other text, same deliveries and key.
        assert rest[0].delivery_ids == parts[-1].delivery_ids
        assert rest[0].idempotency_key == parts[-1].idempotency_key
        return
    assert [(p.delivery_ids, p.idempotency_key) for p in rest] == [
        (p.delivery_ids, p.idempotency_key) for p in parts[sent:]
    ]


def test_idempotency_keys_fit_discord_and_follow_the_delivery_ids() -> None:
    big = [9_223_372_036_854_775_807, 9_223_372_036_854_775_806]
    for ids in ([1], [1, 2, 3], list(range(1000, 1100)), big):
        key = idempotency_key(ids)
        assert len(key) <= MAX_IDEMPOTENCY_KEY
        assert key == idempotency_key(list(reversed(ids)))
    assert idempotency_key([1, 2]) != idempotency_key([1, 3])
    assert idempotency_key([5]).startswith("5-")
    with pytest.raises(ValueError):
        idempotency_key([])


def test_a_limit_without_room_for_the_header_is_refused() -> None:
    with pytest.raises(ValueError):
        build_digest(
            deliveries([event(EventType.ENTERED, "X")]), HEADER_BUDGET, utf16_length, ENGLISH
        )


# -- quiet hours ----------------------------------------------------------------------------------

NIGHT = QuietHours(time(22, 0), time(7, 0))
LUNCH = QuietHours(time(12, 0), time(13, 30))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "zone", "quiet", "expected"),
    [
        # Berlin is UTC+1 in January: 22:30 local is quiet until 07:00 local (06:00 UTC).
        (utc(2026, 1, 10, 21, 30), "Europe/Berlin", NIGHT, utc(2026, 1, 11, 6, 0)),
        # After midnight, still quiet, until 07:00 the same local day.
        (utc(2026, 1, 10, 2, 0), "Europe/Berlin", NIGHT, utc(2026, 1, 10, 6, 0)),
        # 08:00 local: not quiet.
        (utc(2026, 1, 10, 7, 0), "Europe/Berlin", NIGHT, None),
        # The end itself is no longer quiet; the start is.
        (utc(2026, 1, 10, 6, 0), "Europe/Berlin", NIGHT, None),
        (utc(2026, 1, 10, 21, 0), "Europe/Berlin", NIGHT, utc(2026, 1, 11, 6, 0)),
        # The same instant is daytime in Tokyo (UTC+9): 06:30 local is quiet until 07:00.
        (utc(2026, 1, 9, 21, 30), "Asia/Tokyo", NIGHT, utc(2026, 1, 9, 22, 0)),
        (utc(2026, 1, 10, 11, 0), "UTC", LUNCH, None),
        (utc(2026, 1, 10, 12, 15), "UTC", LUNCH, utc(2026, 1, 10, 13, 30)),
        # An unknown zone falls back to UTC rather than silencing the chat.
        (utc(2026, 1, 10, 12, 15), "Mars/Olympus", LUNCH, utc(2026, 1, 10, 13, 30)),
        (utc(2026, 1, 10, 12, 15), "UTC", None, None),
        (utc(2026, 1, 10, 12, 15), "UTC", QuietHours(time(9), time(9)), None),
    ],
)
def test_quiet_until(
    now: datetime, zone: str, quiet: QuietHours | None, expected: datetime | None
) -> None:
    assert quiet_until(now, zone, quiet) == expected


def test_quiet_hours_across_a_daylight_saving_change() -> None:
    # New York springs forward on 2026-03-08 at 02:00; 01:00–02:30 local does not fully exist.
    quiet = QuietHours(time(1, 0), time(2, 30))
    now = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)  # 01:30 EST
    until = quiet_until(now, "America/New_York", quiet)
    assert until is not None and now < until <= now + timedelta(hours=2)


def test_a_chats_own_quiet_hours_win_over_the_default() -> None:
    own = ChatSettings(quiet_start=time(23), quiet_end=time(6))
    assert quiet_hours_of(own, NIGHT) == QuietHours(time(23), time(6))
    assert quiet_hours_of(ChatSettings(), NIGHT) == NIGHT
    assert quiet_hours_of(ChatSettings(), None) is None
    assert QuietHours.parse("22:00", "07:00") == NIGHT
    assert QuietHours.parse("", "07:00") is None


CATCH_UP = timedelta(days=4)


def test_old_periods_fold_into_one_catch_up_summary_after_the_news() -> None:
    fresh = event(EventType.NEW_NUMBER_ONE, "Fresh Hit")
    backlog = [
        Event(
            EventType.ENTERED,
            KEY,
            PERIOD - timedelta(weeks=w),
            f"old-{w}",
            f"Old {w}",
            None,
            rank=3,
        )
        for w in range(1, 8)
    ]
    rows = deliveries([fresh, *backlog])
    [message] = build_digest(rows, 4096, utf16_length, ENGLISH, catchup_max_age=CATCH_UP)
    lines = message.text.split("\n")
    assert lines[0] == "1 chart update"
    assert lines[1] == "• " + event_line(fresh, ENGLISH)
    assert lines[2].startswith("Catch-up: 7 events from ")
    assert sorted(message.delivery_ids) == [r.id for r in rows]
    # Without a catch-up age every event is listed.
    [listed] = build_digest(rows, 4096, utf16_length, ENGLISH)
    assert listed.text.startswith("8 chart updates")


def test_only_old_events_make_a_catch_up_summary_alone() -> None:
    old = [
        Event(EventType.LEFT, KEY, PERIOD - timedelta(weeks=w), f"o{w}", f"Gone {w}", None)
        for w in range(2, 5)
    ]
    [message] = build_digest(deliveries(old), 2000, utf16_length, ENGLISH, catchup_max_age=CATCH_UP)
    assert message.text.startswith("Catch-up: 3 events from")
    assert utf16_length(message.text) <= 2000


def test_age_is_measured_when_queued_not_when_sent() -> None:
    """A retry long after queueing cuts the message as the first attempt did."""
    recent = [event(EventType.ENTERED, f"Show {i}", rank=i) for i in range(1, 4)]
    queued_late = deliveries(recent, queued_at=QUEUED + timedelta(days=30))
    on_time = deliveries(recent)
    assert build_digest(on_time, 4096, utf16_length, ENGLISH, catchup_max_age=CATCH_UP)[
        0
    ].text.startswith("3 chart")
    assert build_digest(queued_late, 4096, utf16_length, ENGLISH, catchup_max_age=CATCH_UP)[
        0
    ].text.startswith("Catch-up")
