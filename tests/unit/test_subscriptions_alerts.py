"""Direct alerts: events → subscribed chats, one digest each, and what a failed send changes."""

from __future__ import annotations

from datetime import date

import pytest

from bot.alerts import MAX_DIGEST_EVENTS, DirectAlerts, render_digest, split_text
from bot.events import Event, EventType
from bot.models import ChartKey
from bot.ports import DeliveryError, DestinationGone, DestinationMoved, RetryLater
from bot.subscriptions import Destination, SubscriptionSpec
from storage.memory.subscriptions import MemorySubscriptionStore

KR_TV = ChartKey("netflix", "netflix", "KR", "TV", "weekly")
JP_TV = ChartKey("netflix", "netflix", "JP", "TV", "weekly")


def new_one(chart: ChartKey = KR_TV, title: str = "Hellbound") -> Event:
    return Event(
        EventType.NEW_NUMBER_ONE, chart, date(2021, 11, 21), title.lower(), title, None, rank=1
    )


class RecordingNotifier:
    def __init__(self, platform: str, failures: list[Exception] | None = None) -> None:
        self.platform = platform
        self.sent: list[tuple[str, str]] = []
        self.failures = list(failures or [])

    async def send(self, destination: str, text: str) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((destination, text))


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_each_subscribed_chat_gets_one_digest() -> None:
    store = MemorySubscriptionStore()
    group = Destination("telegram", "-100")
    channel = Destination("discord", "42")
    await store.add_subscription(group, SubscriptionSpec(region="KR"))
    await store.add_subscription(group, SubscriptionSpec(show="hellbound"))
    await store.add_subscription(channel, SubscriptionSpec(region="JP"))
    telegram, discord = RecordingNotifier("telegram"), RecordingNotifier("discord")
    alerts = DirectAlerts(store, [telegram, discord])
    stats = await alerts.deliver([new_one(), new_one(JP_TV, "Squid Game")])
    assert stats.sent == 2 and stats.destinations == 2
    assert telegram.sent == [
        ("-100", "• [week ending 2021-11-21] Netflix · South Korea · TV: Hellbound debuts at #1")
    ]
    assert discord.sent == [
        ("42", "• [week ending 2021-11-21] Netflix · Japan · TV: Squid Game debuts at #1")
    ]


async def test_a_gone_chat_is_paused_with_its_subscriptions_kept() -> None:
    store = MemorySubscriptionStore()
    group = Destination("telegram", "-100")
    await store.add_subscription(group, SubscriptionSpec(region="KR"))
    notifier = RecordingNotifier("telegram", [DestinationGone("bot was blocked by the user")])
    stats = await DirectAlerts(store, [notifier]).deliver([new_one()])
    assert stats.deactivated == 1 and notifier.sent == []
    state = await store.destination_state(group)
    assert state is not None and not state.active
    assert state.reason == "bot was blocked by the user"
    assert len(await store.subscriptions_of(group)) == 1
    assert (await DirectAlerts(store, [notifier]).deliver([new_one()])).destinations == 0


async def test_a_migrated_group_is_moved_and_sent_again() -> None:
    store = MemorySubscriptionStore()
    old, new = Destination("telegram", "-5"), Destination("telegram", "-1005")
    await store.add_subscription(old, SubscriptionSpec(region="KR"))
    notifier = RecordingNotifier("telegram", [DestinationMoved("-1005")])
    stats = await DirectAlerts(store, [notifier]).deliver([new_one()])
    assert stats.moved == 1 and stats.sent == 1
    assert [destination for destination, _ in notifier.sent] == ["-1005"]
    assert len(await store.subscriptions_of(new)) == 1
    assert await store.subscriptions_of(old) == []


async def test_flood_control_waits_once_then_gives_up() -> None:
    store = MemorySubscriptionStore()
    await store.add_subscription(Destination("telegram", "-100"), SubscriptionSpec(region="KR"))
    sleep = RecordingSleep()
    once = RecordingNotifier("telegram", [RetryLater(3.0)])
    stats = await DirectAlerts(store, [once], sleep=sleep).deliver([new_one()])
    assert stats.sent == 1 and sleep.waits == [3.0]
    twice = RecordingNotifier("telegram", [RetryLater(999.0), RetryLater(1.0)])
    stats = await DirectAlerts(store, [twice], sleep=sleep, max_retry_wait=30).deliver([new_one()])
    assert stats.failed == 1 and sleep.waits == [3.0, 30.0]


async def test_one_failing_chat_does_not_stop_the_others() -> None:
    store = MemorySubscriptionStore()
    for chat in ("1", "2"):
        await store.add_subscription(Destination("discord", chat), SubscriptionSpec(region="KR"))
    notifier = RecordingNotifier("discord", [ConnectionResetError("peer went away")])
    stats = await DirectAlerts(store, [notifier]).deliver([new_one()])
    assert stats.failed == 1 and stats.sent == 1


async def test_a_platform_without_adapter_is_skipped() -> None:
    store = MemorySubscriptionStore()
    await store.add_subscription(Destination("telegram", "-1"), SubscriptionSpec(region="KR"))
    stats = await DirectAlerts(store, []).deliver([new_one()])
    assert stats.skipped == 1 and stats.sent == 0


def test_delivery_errors_share_one_base() -> None:
    assert all(
        issubclass(kind, DeliveryError) for kind in (DestinationGone, DestinationMoved, RetryLater)
    )


def test_digest_is_cut_after_the_headlines() -> None:
    events = [new_one(title=f"Show {n}") for n in range(MAX_DIGEST_EVENTS + 4)]
    lines = render_digest(events).split("\n")
    assert len(lines) == MAX_DIGEST_EVENTS + 1
    assert lines[-1] == "… and 4 more events"


@pytest.mark.parametrize(
    ("text", "limit", "chunks"),
    [
        ("short", 10, ["short"]),
        ("", 10, [""]),
        ("aaaa\nbbbb\ncccc", 9, ["aaaa\nbbbb", "cccc"]),
        ("aaaaaaaaaaaa\nbb", 5, ["aaaaa", "aaaaa", "aa\nbb"]),
    ],
)
def test_split_text(text: str, limit: int, chunks: list[str]) -> None:
    assert split_text(text, limit) == chunks
    assert all(len(chunk) <= limit for chunk in split_text(text, limit))
