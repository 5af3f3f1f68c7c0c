"""The sender's side of /live with a scripted notifier and the memory backend: what each failure
means for a live message (as bot.delivery.failure_policy for alerts), and the daily digest's
local times."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.delivery.config import DeliveryConfig
from bot.delivery.live import post_key
from bot.delivery.quiet_hours import digest_due, hold_for_digest
from bot.delivery.report import format_send_summary
from bot.delivery.sender import Sender
from bot.events import Event, EventType
from bot.live_store import LiveMessage
from bot.ports import (
    Delivery,
    DeliveryError,
    DestinationGone,
    DestinationMoved,
    MessageGone,
    MessageRejected,
    RetryLater,
    TransientFailure,
)
from bot.subscriptions import ChatSettings, Destination
from storage.memory import MemoryBackend
from tests.live_weeks import WORLD_TV, accept, number_one, store_history, week

CONFIG = DeliveryConfig(
    idle_poll_seconds=0.01,
    retry_base_seconds=60,
    max_attempts=3,
    # Pacing has its own tests: here it would only make the tests slow.
    telegram_per_second=1000,
    telegram_reply_reserve_per_second=0,
    telegram_per_chat_per_second=1000,
    telegram_per_group_per_minute=60_000,
)
CHAT = Destination("telegram", "5")
Failure = Callable[[str, str], DeliveryError | None]


@dataclass
class LiveNotifier:
    """Posts and edits in memory; `fail(action, address)` decides what to raise."""

    platform: str = "telegram"
    text_limit: int = 4096
    caption_limit: int = 1024
    deduplicates: bool = False
    fail: Failure = lambda action, address: None
    posts: list[tuple[str, str]] = field(default_factory=list)  # (address, text)
    edits: list[tuple[str, str, str]] = field(default_factory=list)  # (address, id, text)

    async def wait_until_ready(self) -> None:
        return None

    def text_length(self, text: str) -> int:
        return len(text)

    async def send(self, destination: str, text: str, **_: object) -> None:
        raise AssertionError("no alert is due in these tests")

    async def post(self, destination: str, text: str, *, idempotency_key: str | None = None) -> str:
        error = self.fail("post", destination)
        if error is not None:
            raise error
        self.posts.append((destination, text))
        return str(len(self.posts))

    async def edit(self, destination: str, message_id: str, text: str) -> None:
        error = self.fail("edit", destination)
        if error is not None:
            raise error
        self.edits.append((destination, message_id, text))


@pytest.fixture
async def storage() -> AsyncIterator[MemoryBackend]:
    backend = MemoryBackend()
    await store_history(backend, week(0))
    await backend.live.start_live(CHAT, WORLD_TV, datetime.now(UTC), limit=5)
    yield backend


async def send_due(
    storage: MemoryBackend, notifier: LiveNotifier, at: datetime | None = None
) -> Sender:
    """Everything due now (or `at`), as `top10bot deliveries send` does it."""
    sender = Sender(
        storage.outbox,
        [notifier],
        storage.subscriptions,
        CONFIG,
        clock=lambda: at or datetime.now(UTC),
        live=storage.live,
        charts=storage,
    )
    await sender.run(until_idle=True)
    return sender


async def live_message(storage: MemoryBackend, where: Destination = CHAT) -> LiveMessage:
    [message] = await storage.live.live_of(where)
    return message


async def test_posted_once_then_edited_for_each_new_week(storage: MemoryBackend) -> None:
    notifier = LiveNotifier()
    sender = await send_due(storage, notifier)
    assert [number_one(text) for _, text in notifier.posts] == ["Show A"]
    assert (sender.stats.live_posts, sender.stats.live_edits) == (1, 0)
    await send_due(storage, notifier)  # nothing new: nothing sent
    await accept(storage, week(1))
    sender = await send_due(storage, notifier)
    assert [(address, message_id) for address, message_id, _ in notifier.edits] == [("5", "1")]
    assert number_one(notifier.edits[0][2]) == "Show B"
    assert len(notifier.posts) == 1 and sender.stats.live_edits == 1
    assert (await live_message(storage)).period == week(1).period
    # What `top10bot deliveries send` ends with.
    summary = format_send_summary(sender.stats, await storage.outbox.backlog())
    assert summary == (
        "deliveries send: 0 sent in 0 messages, 0 failed (retry scheduled), 0 dead;"
        " 1 live Top 10 updated"
    )


async def test_a_deleted_message_is_posted_again(storage: MemoryBackend) -> None:
    notifier = LiveNotifier()
    await send_due(storage, notifier)
    notifier.fail = lambda action, address: MessageGone("deleted") if action == "edit" else None
    await accept(storage, week(1))
    await send_due(storage, notifier)
    assert len(notifier.posts) == 2 and (await live_message(storage)).message_id == "2"


async def test_flood_control_waits_without_counting_an_attempt(storage: MemoryBackend) -> None:
    notifier = LiveNotifier(fail=lambda action, address: RetryLater(300))
    sender = await send_due(storage, notifier)
    assert sender.stats.rate_limited == 1 and notifier.posts == []
    # Not due again until the wait is over.
    assert await storage.live.claim_live("telegram", datetime.now(UTC), CONFIG.lease, 5) == []
    [claim] = await storage.live.claim_live(
        "telegram", datetime.now(UTC) + timedelta(seconds=301), CONFIG.lease, 5
    )
    assert claim.attempts == 0


async def test_a_failing_platform_is_retried_later_then_the_period_given_up(
    storage: MemoryBackend,
) -> None:
    notifier = LiveNotifier(fail=lambda action, address: TransientFailure("HTTP 502"))
    now = datetime.now(UTC)
    for attempt in range(1, CONFIG.max_attempts):
        await send_due(storage, notifier, now)
        assert await storage.live.claim_live("telegram", now, CONFIG.lease, 5) == []  # backoff
        now += timedelta(hours=1)
        [claim] = await storage.live.claim_live("telegram", now, CONFIG.lease, 5)
        assert claim.attempts == attempt
        await storage.live.live_failed(claim.live.id, now, now, "released", count=False)
    await send_due(storage, notifier, now)  # the last attempt: given up for this period
    message = await live_message(storage)
    assert (message.message_id, message.period) == (None, week(0).period)
    assert await storage.live.claim_live("telegram", now + timedelta(days=1), CONFIG.lease, 5) == []
    notifier.fail = lambda action, address: None
    await accept(storage, week(1))  # the next period tries again
    await send_due(storage, notifier, now)
    assert [number_one(text) for _, text in notifier.posts] == ["Show B"]


async def test_a_refused_text_gives_up_the_period_at_once(storage: MemoryBackend) -> None:
    notifier = LiveNotifier(fail=lambda action, address: MessageRejected("Bad Request"))
    await send_due(storage, notifier)
    assert (await live_message(storage)).period == week(0).period


async def test_a_lost_chat_is_paused_with_its_live_message_kept(storage: MemoryBackend) -> None:
    notifier = LiveNotifier(fail=lambda action, address: DestinationGone("bot was kicked"))
    sender = await send_due(storage, notifier)
    state = await storage.subscriptions.destination_state(CHAT)
    assert state is not None and not state.active and sender.stats.deactivated == 1
    assert (await live_message(storage)).period is None  # kept, not due while paused
    notifier.fail = lambda action, address: None
    await storage.live.start_live(CHAT, WORLD_TV, datetime.now(UTC), limit=5)  # /live again
    await send_due(storage, notifier)
    assert len(notifier.posts) == 1


async def test_a_group_that_became_a_supergroup_gets_it_there(storage: MemoryBackend) -> None:
    notifier = LiveNotifier()
    await send_due(storage, notifier)

    def moved(action: str, address: str) -> DeliveryError | None:
        if address == "5":
            return DestinationMoved("-1009")
        return MessageGone("not in this chat") if action == "edit" else None

    notifier.fail = moved
    await accept(storage, week(1))
    sender = await send_due(storage, notifier)
    assert sender.stats.moved == 1
    assert [address for address, _ in notifier.posts] == ["5", "-1009"]
    assert (await live_message(storage, Destination("telegram", "-1009"))).message_id == "2"


def test_a_repost_has_a_key_of_its_own_and_a_repeat_the_same() -> None:
    first = LiveMessage(7, CHAT, WORLD_TV, None, None)
    reposted = LiveMessage(7, CHAT, WORLD_TV, "123", date(2026, 3, 1))
    period = date(2026, 3, 1)
    assert post_key(first, period) == post_key(first, period)
    assert len({post_key(first, period), post_key(reposted, period)}) == 2
    assert len(post_key(reposted, period)) <= 25  # a Discord nonce


def test_the_digest_is_the_first_local_time_at_or_after_queueing() -> None:
    nine = time(9, 0)
    seoul = "Asia/Seoul"  # UTC+9
    assert digest_due(datetime(2026, 7, 21, 15, 0, tzinfo=UTC), seoul, nine) == datetime(
        2026, 7, 22, 0, 0, tzinfo=UTC
    )
    # Queued at nine exactly: that digest; a second later: the next day's.
    at_nine = datetime(2026, 7, 22, 0, 0, tzinfo=UTC)
    assert digest_due(at_nine, seoul, nine) == at_nine
    assert digest_due(at_nine + timedelta(seconds=1), seoul, nine) == at_nine + timedelta(days=1)
    # Across a change to summer time, the local hour stays (Berlin: 08:00 UTC, then 07:00).
    berlin = "Europe/Berlin"
    assert digest_due(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), berlin, nine) == datetime(
        2026, 3, 29, 7, 0, tzinfo=UTC
    )
    assert digest_due(datetime(2026, 3, 28, 7, 0, tzinfo=UTC), berlin, nine) == datetime(
        2026, 3, 28, 8, 0, tzinfo=UTC
    )


def test_only_details_wait_for_the_digest() -> None:
    queued = datetime(2026, 7, 21, 15, 0, tzinfo=UTC)

    def delivery(number: int, kind: EventType) -> Delivery:
        event = Event(kind, WORLD_TV, date(2026, 7, 19), f"t{number}", f"T{number}", None, rank=1)
        return Delivery(number, event, attempts=0, uncertain=0, queued_at=queued)

    deliveries = [
        delivery(1, EventType.NEW_NUMBER_ONE),
        delivery(2, EventType.CLIMBED),
        delivery(3, EventType.LEFT),
    ]
    digest = ChatSettings(timezone="Asia/Seoul", digest_at=time(9))
    going, held = hold_for_digest(deliveries, digest, queued)
    assert [d.id for d in going] == [1]
    assert held == {datetime(2026, 7, 22, 0, 0, tzinfo=UTC): [2, 3]}
    at_nine = datetime(2026, 7, 22, 0, 0, tzinfo=UTC)
    assert hold_for_digest(deliveries, digest, at_nine) == (deliveries, {})
    assert hold_for_digest(deliveries, ChatSettings(), queued) == (deliveries, {})


async def test_the_live_message_is_in_the_chats_language(storage: MemoryBackend) -> None:
    await storage.subscriptions.save_settings(CHAT, ChatSettings(language="ko"))
    notifier = LiveNotifier()
    await send_due(storage, notifier)
    [(_, text)] = notifier.posts
    assert text.startswith("🌍 TOP 10 — Netflix · 전 세계")
    assert text.endswith("라이브: 새 주간 차트마다 이 메시지가 수정돼요")
