"""A claim stays exclusive until its send is recorded: the sender renews the leases of what it
holds and ignores a claim of rows it still holds (in-memory outbox, scripted notifier)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bot.delivery.lanes import Lane
from bot.delivery.sender import Sender
from bot.ports import ClaimedGroup, SubscriptionStore
from storage.memory import MemoryBackend
from storage.memory.outbox import MemoryOutbox
from tests.unit.test_sender_logic import CONFIG, ScriptedNotifier, World, burst


class SlowRecordingOutbox(MemoryOutbox):
    """Recording a sent message waits for `gate`; once `late` is set, every claim comes after
    the leases of that moment ran out (as if the recording took longer than a lease)."""

    def __init__(self, subscriptions: SubscriptionStore) -> None:
        super().__init__(subscriptions)
        self.recording_started = asyncio.Event()
        self.gate = asyncio.Event()
        self.late = False
        self.claimed_late = asyncio.Event()

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        self.recording_started.set()
        await self.gate.wait()
        await super().mark_sent(ids, now)

    async def claim(
        self, platform: str, now: datetime, lease: timedelta, limit: int, *, claimant: str = ""
    ) -> list[ClaimedGroup]:
        if not self.late:
            return await super().claim(platform, now, lease, limit, claimant=claimant)
        groups = await super().claim(platform, now + 2 * lease, lease, limit, claimant=claimant)
        if groups:
            self.claimed_late.set()
        return groups


class RenewalLog(MemoryOutbox):
    """Notes every lease extension."""

    def __init__(self, subscriptions: SubscriptionStore) -> None:
        super().__init__(subscriptions)
        self.extended_until: list[datetime] = []

    async def extend_lease(
        self, ids: Sequence[int], until: datetime, *, claimant: str = ""
    ) -> list[int]:
        self.extended_until.append(until)
        return await super().extend_lease(ids, until, claimant=claimant)


async def world_with(outbox: Callable[[SubscriptionStore], MemoryOutbox]) -> World:
    storage = MemoryBackend()
    return World(storage, storage.subscriptions, outbox(storage.subscriptions))


async def queue(world: World, count: int) -> None:
    """Queue deliveries of a burst as the backend's unit of work does."""
    await world.outbox.queue(burst(count), datetime.now(UTC))


def lane_of(sender: Sender, platform: str = "telegram") -> Lane:
    return sender._lanes[platform]


async def eventually(check: Callable[[], bool]) -> None:
    """Wait until `check` holds (a bound against hangs, not a timing assertion)."""
    async with asyncio.timeout(10):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def test_rows_stay_held_until_their_send_is_recorded() -> None:
    world = await world_with(SlowRecordingOutbox)
    outbox = world.outbox
    assert isinstance(outbox, SlowRecordingOutbox)
    await world.subscribe("telegram", "1")
    await queue(world, 2)
    notifier = ScriptedNotifier()
    sender = Sender(outbox, [notifier], world.subscriptions, CONFIG)
    lane = lane_of(sender)
    task = asyncio.create_task(sender.run())
    try:
        await asyncio.wait_for(outbox.recording_started.wait(), 10)
        [(address, _)] = notifier.sent
        assert address == "1" and len(lane.held) == 2  # sent, not recorded: still held
        # A claim after the lease ran out returns the rows; the sender holds them, so it does
        # not queue them again.
        outbox.late = True
        sender.wake()
        await asyncio.wait_for(outbox.claimed_late.wait(), 10)
        assert (lane.open_items, lane.queued) == (0, 0)
        outbox.gate.set()
        await eventually(lambda: not lane.held)
        counts = await outbox.counts()
    finally:
        outbox.gate.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert (counts.sent, counts.pending) == (2, 0)
    assert len(notifier.sent) == 1


async def test_leases_of_a_send_in_flight_are_renewed() -> None:
    world = await world_with(RenewalLog)
    outbox = world.outbox
    assert isinstance(outbox, RenewalLog)
    await world.subscribe("telegram", "blocked")
    await queue(world, 1)
    clock = [datetime.now(UTC)]
    unblock = asyncio.Event()
    notifier = ScriptedNotifier(block=unblock)
    config = dataclasses.replace(CONFIG, lease_seconds=0.03)
    sender = Sender(outbox, [notifier], world.subscriptions, config, clock=lambda: clock[0])
    task = asyncio.create_task(sender.run())
    try:
        await eventually(lambda: notifier.calls == 1)
        # Far past the first lease while the message is still in flight: the lease follows.
        clock[0] += 100 * config.lease
        await eventually(lambda: any(until > clock[0] for until in outbox.extended_until))
        assert await outbox.claim("telegram", clock[0], config.lease, 10) == []
        unblock.set()
        await world.settled()
    finally:
        unblock.set()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert notifier.sent == [("blocked", notifier.sent[0][1])]
