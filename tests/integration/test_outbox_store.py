"""One contract for the outbox of every backend (memory and SQLite).

A PostgreSQL backend joins through tests/integration/backends.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.events import Event, EventType
from bot.models import WORLD, ChartKey
from bot.ports import Backend, Batch, DeliveryBacklog, Outbox, SubscriptionStore
from bot.subscriptions import Destination, SubscriptionSpec
from storage.sqlite import SqliteBackend
from tests.integration.backends import BACKENDS, open_test_backend

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)
CHART = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
KR = ChartKey("netflix", "netflix", "KR", "TV (Non-English)", "weekly")
EVERYTHING_NETFLIX = SubscriptionSpec(service="netflix", details=True)


def event(kind: EventType, title: str, chart: ChartKey = CHART, days_old: int = 1) -> Event:
    period = T0.date() - timedelta(days=days_old)
    return Event(kind, chart, period, title.lower(), title, None, rank=1, previous_rank=2)


NEW_ONE = event(EventType.NEW_NUMBER_ONE, "Alpha")
ENTERED = event(EventType.ENTERED, "Beta")
RECORD = event(EventType.RECORD_BROKEN, "Gamma")


@dataclass
class Stores:
    storage: Backend

    @property
    def subscriptions(self) -> SubscriptionStore:
        return self.storage.subscriptions

    @property
    def outbox(self) -> Outbox:
        return self.storage.outbox

    async def publish(self, *events: Event) -> list[Event]:
        """Store live events: their deliveries are queued with them."""
        saved = await self.storage.save_batch(Batch(events=list(events)), queue_deliveries=True)
        return saved.events

    async def subscribe(
        self, platform: str, chat: str, spec: SubscriptionSpec = EVERYTHING_NETFLIX
    ) -> Destination:
        destination = Destination.from_address(platform, chat)
        await self.subscriptions.add_subscription(destination, spec)
        return destination


@pytest.fixture(params=BACKENDS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    storage = await open_test_backend(request.param, tmp_path, clock=lambda: T0)
    try:
        yield Stores(storage)
    finally:
        await storage.close()


async def test_one_delivery_per_event_and_destination(stores: Stores) -> None:
    await stores.subscribe("telegram", "1")
    # Two subscriptions of one chat that both match: still one delivery per event.
    await stores.subscribe("telegram", "2")
    await stores.subscribe("telegram", "2", SubscriptionSpec(region=WORLD, details=True))
    await stores.subscribe("discord", "3")
    assert await stores.publish(NEW_ONE, ENTERED) == [NEW_ONE, ENTERED]
    assert (await stores.outbox.counts()).pending == 6
    # The same events again are not new: nothing more is queued.
    assert await stores.publish(NEW_ONE, ENTERED) == []
    assert (await stores.outbox.counts()).pending == 6


async def test_only_wanted_events_reach_active_destinations(stores: Stores) -> None:
    await stores.subscribe("telegram", "1", SubscriptionSpec(event_types=frozenset({RECORD.type})))
    await stores.subscribe("telegram", "2", SubscriptionSpec(region="KR", details=True))
    gone = await stores.subscribe("telegram", "3")
    await stores.subscriptions.set_active("telegram", gone.chat_id, False, "blocked")
    kr = event(EventType.ENTERED, "Korean hit", chart=KR)
    await stores.publish(NEW_ONE, RECORD, kr)
    groups = await stores.outbox.claim("telegram", T0, LEASE, 10)
    got = {g.destination.chat_id: [d.event for d in g.deliveries] for g in groups}
    assert got == {"1": [RECORD], "2": [kr]}
    assert all(d.queued_at == T0 for g in groups for d in g.deliveries)


async def test_a_subscription_without_details_gets_the_headlines(stores: Stores) -> None:
    await stores.subscribe("telegram", "1", SubscriptionSpec(service="netflix"))
    await stores.subscribe("telegram", "2")  # details too
    await stores.publish(NEW_ONE, ENTERED, RECORD)
    groups = await stores.outbox.claim("telegram", T0, LEASE, 10)
    got = {g.destination.chat_id: {d.event for d in g.deliveries} for g in groups}
    assert got == {"1": {NEW_ONE, RECORD}, "2": {NEW_ONE, ENTERED, RECORD}}


async def test_a_lease_holds_claimed_rows_until_it_runs_out(stores: Stores) -> None:
    await stores.subscribe("telegram", "1")
    await stores.subscribe("telegram", "2")
    await stores.publish(NEW_ONE, ENTERED)
    first = await stores.outbox.claim("telegram", T0, LEASE, 10)
    assert sorted(g.destination.chat_id for g in first) == ["1", "2"]
    assert all(len(g.deliveries) == 2 for g in first)
    assert await stores.outbox.claim("telegram", T0 + LEASE / 2, LEASE, 10) == []
    # The sender died: once its lease runs out the same groups are claimed again, unchanged.
    again = await stores.outbox.claim("telegram", T0 + LEASE * 2, LEASE, 10)
    assert sorted((g.group_id, g.deliveries) for g in again) == sorted(
        (g.group_id, g.deliveries) for g in first
    )


async def test_an_extended_lease_keeps_rows_claimed_and_never_revives_a_released_row(
    stores: Stores,
) -> None:
    await stores.subscribe("telegram", "1")
    await stores.subscribe("telegram", "2")
    await stores.publish(NEW_ONE, ENTERED)
    kept, released = await stores.outbox.claim("telegram", T0, LEASE, 10)
    kept_ids = [d.id for d in kept.deliveries]
    released_ids = [d.id for d in released.deliveries]
    sent_id = kept_ids.pop()
    await stores.outbox.mark_sent([sent_id], T0)
    await stores.outbox.postpone(released_ids, T0)
    await stores.outbox.extend_lease([*kept_ids, sent_id, *released_ids], T0 + LEASE * 3)
    # Past the first lease, before the extended one: only the released rows are claimable.
    [again] = await stores.outbox.claim("telegram", T0 + LEASE * 2, LEASE * 2, 10)
    assert again.destination == released.destination
    assert [d.id for d in again.deliveries] == released_ids
    # Once the extended lease runs out the kept rows come back, as after a crash; the sent one
    # stays sent.
    [late] = await stores.outbox.claim("telegram", T0 + LEASE * 3, LEASE, 10)
    assert (late.group_id, [d.id for d in late.deliveries]) == (kept.group_id, kept_ids)
    assert (await stores.outbox.counts()).sent == 1


async def test_a_claim_taken_over_after_its_lease_ran_out_is_no_longer_the_first_senders(
    stores: Stores,
) -> None:
    """The fencing of several senders: rows remember who holds them; a sender whose lease ran out
    and was claimed by another can neither renew, fail nor release them."""
    for chat in ("1", "2"):
        await stores.subscribe("telegram", chat)
    await stores.publish(NEW_ONE)
    outbox = stores.outbox
    first = await outbox.claim("telegram", T0, LEASE, 10, claimant="a")
    ids = sorted(d.id for g in first for d in g.deliveries)
    assert await outbox.extend_lease(ids, T0 + LEASE, claimant="a") == ids
    assert await outbox.extend_lease(ids, T0 + LEASE * 9, claimant="b") == []
    # a stalls past its lease; b takes the rows over.
    taken = await outbox.claim("telegram", T0 + LEASE * 2, LEASE, 10, claimant="b")
    assert sorted(d.id for g in taken for d in g.deliveries) == ids
    assert await outbox.extend_lease(ids, T0 + LEASE * 3, claimant="a") == []
    await outbox.postpone(ids, T0, claimant="a")
    await outbox.mark_failed(ids, T0, T0, "late", claimant="a")
    await outbox.mark_dead(ids, T0, "late", claimant="a")
    # Still b's, claimed and open: nobody else may claim them, and b renews them.
    assert await outbox.claim("telegram", T0 + LEASE * 2, LEASE, 10, claimant="c") == []
    assert await outbox.extend_lease(ids, T0 + LEASE * 4, claimant="b") == ids
    # A message that went out is recorded whoever holds the rows; b then holds nothing.
    await outbox.mark_sent(ids[:1], T0)
    assert await outbox.extend_lease(ids, T0 + LEASE * 4, claimant="b") == ids[1:]
    await outbox.postpone(ids, T0 + LEASE * 2, claimant="b")
    assert await outbox.extend_lease(ids, T0 + LEASE * 4, claimant="b") == []
    counts = await outbox.counts()
    assert (counts.sent, counts.pending, counts.failed, counts.dead) == (1, 1, 0, 0)


async def test_a_resumed_group_brings_its_recorded_rows(stores: Stores) -> None:
    """A digest cut into parts and stopped half way is rebuilt whole after a restart."""
    await stores.subscribe("telegram", "1")
    await stores.publish(NEW_ONE, ENTERED, RECORD)
    outbox = stores.outbox
    [group] = await outbox.claim("telegram", T0, LEASE, 10, claimant="a")
    assert group.done == ()
    first, second, third = group.deliveries
    await outbox.mark_sent([first.id], T0)
    await outbox.mark_dead([second.id], T0, "rejected: too long")
    # The sender died with the third part unsent: the group comes back with the other two.
    [resumed] = await outbox.claim("telegram", T0 + LEASE * 2, LEASE, 10, claimant="b")
    assert resumed.group_id == group.group_id
    assert resumed.deliveries == (third,)
    assert resumed.done == (first, second)
    # A new group of the same chat brings nothing recorded.
    await outbox.mark_sent([third.id], T0 + LEASE * 2)
    await stores.subscribe("telegram", "1", SubscriptionSpec(region="KR", details=True))
    await stores.publish(event(EventType.NEW_NUMBER_ONE, "Delta", KR))
    [fresh] = await outbox.claim("telegram", T0 + LEASE * 2, LEASE, 10)
    assert fresh.group_id != group.group_id and fresh.done == ()


async def test_a_group_claimed_before_goes_out_again_alone(stores: Stores) -> None:
    await stores.subscribe("discord", "9")
    await stores.publish(NEW_ONE)
    [first] = await stores.outbox.claim("discord", T0, LEASE, 10)
    await stores.publish(ENTERED)  # arrives while the first message is (maybe) out
    later = T0 + LEASE * 2
    [retry] = await stores.outbox.claim("discord", later, LEASE, 10)
    assert (retry.group_id, retry.deliveries) == (first.group_id, first.deliveries)
    await stores.outbox.mark_sent([d.id for d in retry.deliveries], later)
    [fresh] = await stores.outbox.claim("discord", later, LEASE, 10)
    assert [d.event for d in fresh.deliveries] == [ENTERED]
    assert fresh.group_id != first.group_id


async def test_claims_are_per_platform_and_limited(stores: Stores) -> None:
    for chat in ("1", "2", "3"):
        await stores.subscribe("telegram", chat)
    await stores.subscribe("discord", "4")
    await stores.publish(NEW_ONE)
    assert len(await stores.outbox.claim("telegram", T0, LEASE, 2)) == 2
    assert len(await stores.outbox.claim("telegram", T0, LEASE, 2)) == 1
    [discord_group] = await stores.outbox.claim("discord", T0, LEASE, 5)
    assert discord_group.destination == Destination("discord", "4")
    assert discord_group.active and discord_group.settings.timezone == "UTC"


async def test_outcomes_counts_dead_letters_and_requeue(stores: Stores) -> None:
    for chat in ("1", "2", "3", "4"):
        await stores.subscribe("telegram", chat)
    await stores.publish(NEW_ONE)
    groups = {g.destination.chat_id: g for g in await stores.outbox.claim("telegram", T0, LEASE, 9)}
    ids = {chat: [d.id for d in g.deliveries] for chat, g in groups.items()}
    outbox = stores.outbox
    await outbox.mark_sent(ids["1"], T0)
    await outbox.mark_failed(ids["2"], T0, T0 + timedelta(minutes=5), "HTTP 502")
    await outbox.mark_failed(ids["3"], T0, T0 + timedelta(minutes=1), "timed out", uncertain=True)
    await outbox.mark_dead(ids["4"], T0 + timedelta(seconds=1), "destination inactive: blocked")
    counts = await outbox.counts()
    assert (counts.pending, counts.failed, counts.sent, counts.dead) == (0, 2, 1, 1)
    assert counts.uncertain == 1
    # A sent row stays sent whatever comes later.
    await outbox.mark_dead(ids["1"], T0, "late")
    assert (await outbox.counts()).sent == 1
    # Retries are due at their time, not before; the group and the attempts come along.
    assert await outbox.claim("telegram", T0 + timedelta(seconds=59), LEASE, 9) == []
    [retry] = await outbox.claim("telegram", T0 + timedelta(minutes=2), LEASE, 9)
    assert retry.destination.chat_id == "3" and retry.group_id == groups["3"].group_id
    assert [(d.attempts, d.uncertain) for d in retry.deliveries] == [(1, 1)]
    await outbox.mark_sent([d.id for d in retry.deliveries], T0 + timedelta(minutes=2))
    [dead] = await outbox.dead_letters()
    assert dead.destination == Destination("telegram", "4")
    assert dead.event_key == NEW_ONE.key and dead.reason == "destination inactive: blocked"
    assert await outbox.requeue_dead(T0 + timedelta(minutes=3)) == 1
    assert await outbox.dead_letters() == []
    requeued = await outbox.claim("telegram", T0 + timedelta(minutes=3), LEASE, 9)
    assert [g.destination.chat_id for g in requeued] == ["4"]
    assert requeued[0].deliveries[0].attempts == 0


async def test_the_backlog_is_the_counts_of_the_rows_not_sent(stores: Stores) -> None:
    """backlog() (index-only counts) agrees with counts() (the whole history grouped by status)
    as rows are sent, fail, die, are retried and requeued."""
    chats = [str(chat) for chat in range(1, 7)]
    for chat in chats:
        await stores.subscribe("telegram", chat)
    await stores.publish(NEW_ONE, ENTERED)
    outbox = stores.outbox
    groups = {g.destination.chat_id: g for g in await outbox.claim("telegram", T0, LEASE, 9)}
    ids = {chat: [d.id for d in groups[chat].deliveries] for chat in chats}
    await outbox.mark_sent(ids["1"], T0)
    await outbox.mark_failed(ids["2"], T0, T0 + timedelta(minutes=5), "HTTP 502")
    await outbox.mark_failed(ids["3"], T0, T0 + timedelta(minutes=1), "timed out", uncertain=True)
    await outbox.mark_dead(ids["4"], T0, "destination inactive: blocked")
    await outbox.postpone(ids["5"], T0 + timedelta(hours=1))
    await stores.publish(RECORD)  # chat 6's rows stay claimed; RECORD's are new

    async def agree() -> DeliveryBacklog:
        counts, backlog = await outbox.counts(), await outbox.backlog()
        assert backlog == DeliveryBacklog(counts.pending, counts.failed, counts.dead)
        return backlog

    assert await agree() == DeliveryBacklog(pending=2 + 2 + 6, failed=4, dead=2)
    await outbox.mark_sent(ids["2"], T0 + timedelta(minutes=5))
    assert await outbox.requeue_dead(T0 + timedelta(minutes=5)) == 2
    backlog = await agree()
    assert backlog == DeliveryBacklog(pending=12, failed=2, dead=0)
    assert backlog.waiting == 14


async def test_postponed_rows_may_join_a_later_digest(stores: Stores) -> None:
    await stores.subscribe("telegram", "1")
    await stores.publish(NEW_ONE)
    [held] = await stores.outbox.claim("telegram", T0, LEASE, 9)
    quiet_end = T0 + timedelta(hours=8)
    await stores.outbox.postpone([d.id for d in held.deliveries], quiet_end, regroup=True)
    await stores.publish(ENTERED, RECORD)
    # ENTERED and RECORD are due now, NEW_ONE only at the end of the quiet hours.
    [early] = await stores.outbox.claim("telegram", T0, LEASE, 9)
    await stores.outbox.postpone([d.id for d in early.deliveries], quiet_end, regroup=True)
    [digest] = await stores.outbox.claim("telegram", quiet_end, LEASE, 9)
    assert {d.event for d in digest.deliveries} == {NEW_ONE, ENTERED, RECORD}


async def test_a_gone_chat_takes_all_its_topics_rows_along(stores: Stores) -> None:
    await stores.subscribe("telegram", "-100/7")
    await stores.subscribe("telegram", "-100/8")
    await stores.subscribe("telegram", "-200")
    await stores.publish(NEW_ONE, ENTERED)
    dead = await stores.outbox.dead_letter_chat("telegram", "-100", T0, "kicked")
    assert dead == 4
    [left] = await stores.outbox.claim("telegram", T0, LEASE, 9)
    assert left.destination == Destination("telegram", "-200")


@pytest.mark.parametrize("new_exists", [False, True])
async def test_rows_follow_a_migrated_chat(stores: Stores, new_exists: bool) -> None:
    old = await stores.subscribe("telegram", "-300")
    new = Destination("telegram", "-1000000000300")
    await stores.publish(NEW_ONE)
    if new_exists:
        # The supergroup subscribed on its own meanwhile and already has one of the events.
        await stores.subscriptions.add_subscription(new, EVERYTHING_NETFLIX)
        await stores.publish(ENTERED)
    else:
        await stores.publish(ENTERED)
    claimed = await stores.outbox.claim("telegram", T0, LEASE, 9)
    assert {g.destination for g in claimed} == ({old, new} if new_exists else {old})
    # What the sender does on "migrate_to_chat_id": rows first, then the subscriptions.
    await stores.outbox.move_destination(old, new)
    await stores.subscriptions.move_destination(old, new)
    await stores.outbox.postpone([d.id for g in claimed for d in g.deliveries], T0)
    groups = await stores.outbox.claim("telegram", T0 + LEASE * 2, LEASE, 9)
    # A group claimed before goes out alone: the moved row may follow in a second message.
    groups += await stores.outbox.claim("telegram", T0 + LEASE * 2, LEASE, 9)
    assert {g.destination for g in groups} == {new}
    assert {d.event for g in groups for d in g.deliveries} == {NEW_ONE, ENTERED}
    assert sum(len(g.deliveries) for g in groups) == 2


async def test_a_removed_destination_makes_its_rows_dead_letters(tmp_path: Path) -> None:
    storage = await SqliteBackend.open(tmp_path / "outbox.db", clock=lambda: T0)
    await storage.migrate()
    try:
        subscriptions, outbox = storage.subscriptions, storage.outbox
        await subscriptions.add_subscription(Destination("discord", "5"), EVERYTHING_NETFLIX)
        await storage.save_batch(Batch(events=[NEW_ONE]), queue_deliveries=True)
        await storage.database.execute("DELETE FROM destinations")
        [orphan] = await outbox.claim("discord", T0, LEASE, 9)
        assert not orphan.active and orphan.inactive_reason == "destination removed"
    finally:
        await storage.close()


async def test_queueing_a_burst_for_many_chats(tmp_path: Path) -> None:
    """Thousands of chats sharing a filter: rows for all of them, with the right platform."""
    storage = await SqliteBackend.open(tmp_path / "outbox.db", clock=lambda: T0)
    await storage.migrate()
    try:
        subscriptions, outbox = storage.subscriptions, storage.outbox
        for chat in range(2000):
            platform = "telegram" if chat % 2 else "discord"
            await subscriptions.add_subscription(
                Destination(platform, str(chat)), EVERYTHING_NETFLIX
            )
        later = replace(ENTERED, title_id="delta", title="Delta")
        await storage.save_batch(Batch(events=[NEW_ONE, ENTERED, later]), queue_deliveries=True)
        assert (await outbox.counts()).pending == 6000
        telegram = await outbox.claim("telegram", T0, LEASE, 5000)
        assert len(telegram) == 1000 and all(len(g.deliveries) == 3 for g in telegram)
    finally:
        await storage.close()
