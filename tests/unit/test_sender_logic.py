"""The sender's decisions with scripted notifiers and the in-memory outbox (no network)."""

from __future__ import annotations

import asyncio
import dataclasses
import io
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.commands.reply import Button
from bot.delivery.config import DeliveryConfig
from bot.delivery.sender import Sender
from bot.events import Event, EventType
from bot.models import WORLD, ChartKey
from bot.pictures.model import Picture
from bot.ports import (
    Batch,
    DeliveryCounts,
    DeliveryError,
    MessageRejected,
    RetryLater,
    TransientFailure,
)
from bot.subscriptions import ChatSettings, Destination, SubscriptionSpec
from handlers.console import ConsoleNotifier
from storage.memory import MemoryBackend
from storage.memory.outbox import MemoryOutbox
from storage.memory.subscriptions import MemorySubscriptionStore

CHART = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
CONFIG = DeliveryConfig(
    idle_poll_seconds=0.01,
    retry_base_seconds=0.01,
    retry_max_seconds=0.02,
    telegram_per_second=1000,
    telegram_reply_reserve_per_second=0,
    telegram_per_chat_per_second=1000,
    telegram_per_group_per_minute=60_000,
)


def burst(count: int, prefix: str = "Show") -> list[Event]:
    today = datetime.now(UTC).date()
    return [
        Event(EventType.ENTERED, CHART, today, f"{prefix}-{i}", f"{prefix} {i}", None, rank=i + 1)
        for i in range(count)
    ]


@dataclass
class ScriptedNotifier:
    """Records what it sends; `fail` decides, per call, what to raise (None: deliver)."""

    platform: str = "telegram"
    text_limit: int = 4096
    caption_limit: int = 1024
    deduplicates: bool = False
    fail: Callable[[str, str, int], BaseException | None] = lambda address, text, call: None
    sent: list[tuple[str, str]] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)  # the idempotency key of each sent
    calls: int = 0
    block: asyncio.Event | None = None
    # Deliver this many messages, then hang on the next one (the process dies there).
    hang_after: int | None = None
    hanging: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_until_ready(self) -> None:
        return None

    def text_length(self, text: str) -> int:
        return len(text)

    async def send(
        self,
        destination: str,
        text: str,
        *,
        idempotency_key: str | None = None,
        buttons: Sequence[Button] = (),
        picture: Picture | None = None,
    ) -> None:
        self.calls += 1
        if self.block is not None and destination == "blocked":
            await self.block.wait()
        if self.hang_after is not None and len(self.sent) == self.hang_after:
            self.hanging.set()
            await asyncio.Event().wait()
        error = self.fail(destination, text, self.calls)
        if error is not None:
            raise error
        self.sent.append((destination, text))
        self.keys.append(idempotency_key)


@dataclass
class World:
    storage: MemoryBackend
    subscriptions: MemorySubscriptionStore
    outbox: MemoryOutbox

    async def subscribe(self, platform: str, *chats: str) -> None:
        for chat in chats:
            await self.subscriptions.add_subscription(
                Destination(platform, chat), SubscriptionSpec(service="netflix", details=True)
            )

    async def publish(self, events: list[Event]) -> None:
        await self.storage.save_batch(Batch(events=events), queue_deliveries=True)

    async def settled(
        self, check: Callable[[DeliveryCounts], bool] | None = None
    ) -> DeliveryCounts:
        done = check or (lambda c: c.pending == 0 and c.failed == 0)
        async with asyncio.timeout(10):
            while not done(counts := await self.outbox.counts()):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        return counts


@pytest.fixture
async def world() -> AsyncIterator[World]:
    storage = MemoryBackend()
    yield World(storage, storage.subscriptions, storage.outbox)


async def run_until(
    sender: Sender, world: World, check: Callable[[DeliveryCounts], bool] | None = None
) -> DeliveryCounts:
    task = asyncio.create_task(sender.run())
    try:
        return await world.settled(check)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_refused_message_is_a_dead_letter_and_the_rest_still_goes(world: World) -> None:
    await world.subscribe("telegram", "1", "2")

    def refuse_chat_one(address: str, text: str, call: int) -> DeliveryError | None:
        return MessageRejected("Bad Request: can't parse entities") if address == "1" else None

    notifier = ScriptedNotifier(fail=refuse_chat_one)
    await world.publish(burst(2))
    counts = await run_until(Sender(world.outbox, [notifier], world.subscriptions, CONFIG), world)
    assert (counts.sent, counts.dead) == (2, 2)
    [letter, _] = await world.outbox.dead_letters()
    assert letter.reason == "rejected: Bad Request: can't parse entities"
    assert [address for address, _ in notifier.sent] == ["2"]
    assert notifier.calls == 2  # refused once, not retried


async def test_unknown_errors_are_transient_and_retried(world: World) -> None:
    await world.subscribe("telegram", "1")
    notifier = ScriptedNotifier(
        fail=lambda address, text, call: RuntimeError("socket closed") if call < 3 else None
    )
    await world.publish(burst(1))
    sender = Sender(world.outbox, [notifier], world.subscriptions, CONFIG)
    counts = await run_until(sender, world)
    assert counts.sent == 1 and notifier.calls == 3
    assert sender.stats.retries_scheduled == 2


async def test_a_chat_deactivated_after_queueing_gets_a_dead_letter(world: World) -> None:
    await world.subscribe("telegram", "1", "2")
    await world.publish(burst(1))
    await world.subscriptions.set_active("telegram", "2", False, "bot removed from chat")
    notifier = ScriptedNotifier()
    counts = await run_until(Sender(world.outbox, [notifier], world.subscriptions, CONFIG), world)
    assert (counts.sent, counts.dead) == (1, 1)
    [letter] = await world.outbox.dead_letters()
    assert letter.reason == "destination inactive: bot removed from chat"


async def test_a_stopped_sender_gives_back_what_it_had_not_sent(world: World) -> None:
    await world.subscribe("telegram", "blocked", "2", "3")
    await world.publish(burst(1))
    notifier = ScriptedNotifier(block=asyncio.Event())
    sender = Sender(world.outbox, [notifier], world.subscriptions, CONFIG)
    task = asyncio.create_task(sender.run())
    async with asyncio.timeout(10):
        while notifier.calls == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    # The two queued chats can be claimed at once; the one in flight waits for its lease.
    now = datetime.now(UTC)
    again = await world.outbox.claim("telegram", now, timedelta(hours=1), 10)
    assert sorted(g.destination.chat_id for g in again) == ["2", "3"]
    later = await world.outbox.claim("telegram", now + CONFIG.lease * 2, CONFIG.lease, 10)
    assert [g.destination.chat_id for g in later] == ["blocked"]


async def test_transient_failures_end_as_dead_letters_after_max_attempts(world: World) -> None:
    await world.subscribe("telegram", "1")
    notifier = ScriptedNotifier(
        fail=lambda address, text, call: TransientFailure("502 Bad Gateway")
    )
    await world.publish(burst(1))
    sender = Sender(world.outbox, [notifier], world.subscriptions, CONFIG)
    counts = await run_until(sender, world)
    [letter] = await world.outbox.dead_letters()
    assert counts.dead == 1 and notifier.calls == CONFIG.max_attempts
    attempts = CONFIG.max_attempts
    assert letter.reason == f"gave up after {attempts} attempts: TransientFailure: 502 Bad Gateway"


async def test_the_console_gets_digests_through_its_notifier(world: World) -> None:
    printed = io.StringIO()
    await world.subscribe("console", "console")
    await world.publish(burst(3))
    sender = Sender(world.outbox, [ConsoleNotifier(printed)], world.subscriptions, CONFIG)
    counts = await run_until(sender, world)
    assert counts.sent == 3
    assert printed.getvalue().startswith("3 chart updates\n• ")
    assert printed.getvalue().count("chart updates") == 1


async def test_chats_in_quiet_hours_do_not_hold_up_the_others(world: World) -> None:
    sleepy = [str(chat) for chat in range(100, 400)]
    await world.subscribe("telegram", *sleepy)
    now = datetime.now(UTC)
    always_quiet = ChatSettings(
        quiet_start=(now - timedelta(hours=1)).time().replace(second=0, microsecond=0),
        quiet_end=(now + timedelta(hours=1)).time().replace(second=0, microsecond=0),
    )
    for chat in sleepy:
        await world.subscriptions.save_settings(Destination("telegram", chat), always_quiet)
    await world.subscribe("telegram", "awake")
    await world.publish(burst(1))
    notifier = ScriptedNotifier()
    # Claims of 50 and a long idle poll: only claiming on after held groups gets "awake" out.
    config = DeliveryConfig(
        **{
            **{name: getattr(CONFIG, name) for name in CONFIG.__dataclass_fields__},
            "claim_batch": 50,
            "idle_poll_seconds": 60.0,
        }
    )
    sender = Sender(world.outbox, [notifier], world.subscriptions, config)
    counts = await run_until(sender, world, lambda c: c.sent == 1)
    assert notifier.sent[0][0] == "awake"
    assert counts.pending == len(sleepy)
    assert sender.stats.held_for_quiet_hours == len(sleepy)


async def test_a_run_until_idle_sends_what_is_due_and_leaves_retries_for_later(
    world: World,
) -> None:
    await world.subscribe("telegram", "1", "2", "3")
    # Chat 2 fails once (a retry is scheduled); a flood-control pause is waited out in the run.
    failures = {"2": TransientFailure("502 Bad Gateway"), "3": RetryLater(0.01)}

    def fail_once(address: str, text: str, call: int) -> DeliveryError | None:
        return failures.pop(address, None)

    notifier = ScriptedNotifier(fail=fail_once)
    await world.publish(burst(2))
    later = dataclasses.replace(CONFIG, retry_base_seconds=60.0, retry_max_seconds=60.0)
    sender = Sender(world.outbox, [notifier], world.subscriptions, later)
    async with asyncio.timeout(10):  # a bound against a hang, not a timing assertion
        await sender.run(until_idle=True)
    assert sorted(address for address, _ in notifier.sent) == ["1", "3"]
    assert sender.stats.retries_scheduled == 1 and sender.stats.rate_limited == 1
    counts = await world.outbox.counts()
    assert (counts.sent, counts.failed, counts.pending) == (4, 2, 0)
