"""One contract for the live messages of every backend (memory, SQLite, PostgreSQL): what /live
stores, and what the sender claims — a live message is due while its chart has a newer period
than it shows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.live_store import LiveStart, LiveStore
from bot.models import WORLD, Chart, ChartKey, Entry, make_title_id
from bot.ports import Backend, Batch
from bot.subscriptions import Destination, SubscriptionSpec
from tests.integration.backends import BACKENDS, open_test_backend

T0 = datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
WORLD_TV = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
KR_TV = ChartKey("netflix", "netflix", "KR", "TV", "weekly")
NO_CHART = ChartKey("netflix", "netflix", "JP", "TV", "weekly")
WEEK_1 = date(2026, 2, 22)
WEEK_2 = date(2026, 3, 1)
GROUP = Destination("telegram", "-100")
TOPIC = Destination("telegram", "-100", "7")
CHANNEL = Destination("discord", "42")


def chart(key: ChartKey, period: date) -> Chart:
    titles = [f"Show {n}" for n in range(1, 11)]
    entries = tuple(
        Entry(rank=rank, title_id=make_title_id(title, None), title=title)
        for rank, title in enumerate(titles, start=1)
    )
    return Chart(key, period, entries)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    opened = await open_test_backend(request.param, tmp_path)
    await store_charts(opened, chart(WORLD_TV, WEEK_1), chart(KR_TV, WEEK_1))
    try:
        yield opened
    finally:
        await opened.close()


async def store_charts(backend: Backend, *charts: Chart) -> None:
    await backend.save_batch(Batch(accepted=list(charts)), queue_deliveries=False)


async def claimed(store: LiveStore, platform: str = "telegram", at: datetime = T0) -> list[int]:
    return [claim.live.id for claim in await store.claim_live(platform, at, LEASE, 50)]


async def test_a_new_live_message_is_due_until_shown_then_again_for_a_new_period(
    backend: Backend,
) -> None:
    store = backend.live
    started, live = await store.start_live(GROUP, WORLD_TV, T0, limit=5)
    assert started is LiveStart.STARTED and live is not None
    assert (live.destination, live.key, live.message_id, live.period) == (
        GROUP,
        WORLD_TV,
        None,
        None,
    )
    [claim] = await store.claim_live("telegram", T0, LEASE, 10)
    assert (claim.live, claim.latest, claim.attempts) == (live, WEEK_1, 0)
    assert await claimed(store) == []  # leased
    assert await claimed(store, "discord") == []  # another platform's sender

    await store.live_shown(live.id, "555", WEEK_1, T0)
    [shown] = await store.live_of(GROUP)
    assert (shown.message_id, shown.period) == ("555", WEEK_1)
    assert await claimed(store, at=T0 + 2 * LEASE) == []  # up to date

    await store_charts(backend, chart(WORLD_TV, WEEK_2))
    [claim] = await store.claim_live("telegram", T0 + 2 * LEASE, LEASE, 10)
    assert (claim.live.message_id, claim.live.period, claim.latest) == ("555", WEEK_1, WEEK_2)
    # An edit keeps the stored message id.
    await store.live_shown(live.id, None, WEEK_2, T0 + 2 * LEASE)
    [shown] = await store.live_of(GROUP)
    assert (shown.message_id, shown.period) == ("555", WEEK_2)


async def test_a_lease_that_runs_out_lets_another_sender_claim_it(backend: Backend) -> None:
    store = backend.live
    _, live = await store.start_live(GROUP, WORLD_TV, T0, limit=5)
    assert live is not None
    assert await claimed(store) == [live.id]
    assert await claimed(store, at=T0 + LEASE / 2) == []
    assert await claimed(store, at=T0 + LEASE) == [live.id]


async def test_concurrent_claims_never_share_a_row(backend: Backend) -> None:
    store = backend.live
    for chat in range(1, 9):
        await store.start_live(Destination("telegram", str(chat)), WORLD_TV, T0, limit=5)
    batches = await asyncio.gather(*(store.claim_live("telegram", T0, LEASE, 3) for _ in range(4)))
    ids = [claim.live.id for batch in batches for claim in batch]
    assert len(ids) == len(set(ids)) == 8


async def test_the_limit_counts_every_topic_of_a_chat_and_full_changes_nothing(
    backend: Backend,
) -> None:
    store = backend.live
    keys = [ChartKey("netflix", "netflix", region, "TV", "weekly") for region in "ABCDE"]
    for key in keys[:3]:
        assert (await store.start_live(GROUP, key, T0, limit=4))[0] is LiveStart.STARTED
    assert (await store.start_live(TOPIC, keys[3], T0, limit=4))[0] is LiveStart.STARTED
    assert await store.start_live(TOPIC, keys[4], T0, limit=4) == (LiveStart.FULL, None)
    assert await store.start_live(Destination("telegram", "-200"), keys[4], T0, limit=1) == (
        LiveStart.STARTED,
        (await store.live_of(Destination("telegram", "-200")))[0],
    )
    # Full: nothing was stored, not even the destination.
    assert [m.key for m in await store.live_of(TOPIC)] == [keys[3]]
    assert await store.start_live(CHANNEL, keys[0], T0, limit=0) == (LiveStart.FULL, None)
    assert await backend.subscriptions.destination_state(CHANNEL) is None
    # A chart already live there is no new one: it may be asked for again at the limit.
    assert (await store.start_live(GROUP, keys[0], T0, limit=4))[0] is LiveStart.EXISTING


async def test_asking_again_shows_it_again_and_resets_its_failures(backend: Backend) -> None:
    store = backend.live
    _, live = await store.start_live(GROUP, WORLD_TV, T0, limit=5)
    assert live is not None
    await store.live_shown(live.id, "555", WEEK_1, T0)
    await store.live_failed(live.id, T0, T0 + timedelta(hours=1), "boom")  # not claimed: no-op
    started, again = await store.start_live(GROUP, WORLD_TV, T0 + timedelta(minutes=1), limit=5)
    assert started is LiveStart.EXISTING and again is not None
    assert (again.id, again.message_id, again.period) == (live.id, "555", None)
    [claim] = await store.claim_live("telegram", T0 + timedelta(minutes=1), LEASE, 10)
    assert (claim.live.id, claim.attempts) == (live.id, 0)


async def test_failures_wait_for_their_retry_and_count_attempts(backend: Backend) -> None:
    store = backend.live
    _, live = await store.start_live(GROUP, WORLD_TV, T0, limit=5)
    assert live is not None
    await store.claim_live("telegram", T0, LEASE, 10)
    await store.live_failed(live.id, T0, T0 + timedelta(minutes=5), "HTTP 502")
    assert await claimed(store, at=T0 + timedelta(minutes=4)) == []
    [claim] = await store.claim_live("telegram", T0 + timedelta(minutes=5), LEASE, 10)
    assert claim.attempts == 1
    # Flood control is no attempt of the message's own.
    later = T0 + timedelta(minutes=6)
    await store.live_failed(live.id, later, later, "flood control", count=False)
    [claim] = await store.claim_live("telegram", later, LEASE, 10)
    assert claim.attempts == 1
    await store.live_shown(live.id, "555", WEEK_1, later)
    await store_charts(backend, chart(WORLD_TV, WEEK_2))
    [claim] = await store.claim_live("telegram", later + LEASE, LEASE, 10)
    assert claim.attempts == 0


async def test_a_chart_with_no_stored_period_is_never_due(backend: Backend) -> None:
    _, live = await backend.live.start_live(GROUP, NO_CHART, T0, limit=5)
    assert live is not None
    assert await claimed(backend.live) == []
    await store_charts(backend, chart(NO_CHART, WEEK_2))
    assert await claimed(backend.live) == [live.id]


async def test_a_paused_chat_is_not_claimed_until_live_or_subscribe_brings_it_back(
    backend: Backend,
) -> None:
    store = backend.live
    _, live = await store.start_live(GROUP, WORLD_TV, T0, limit=5)
    assert live is not None
    await backend.subscriptions.set_active("telegram", "-100", False, "bot was kicked")
    assert await claimed(store) == []
    await backend.subscriptions.add_subscription(GROUP, SubscriptionSpec(region="KR"))
    assert await claimed(store) == [live.id]
    await backend.subscriptions.set_active("telegram", "-100", False, "bot was kicked")
    later = T0 + 2 * LEASE
    await store.start_live(GROUP, WORLD_TV, later, limit=5)
    state = await backend.subscriptions.destination_state(GROUP)
    assert state is not None and state.active
    assert await claimed(store, at=later) == [live.id]


async def test_stop_some_or_all(backend: Backend) -> None:
    store = backend.live
    for key in (WORLD_TV, KR_TV, NO_CHART):
        await store.start_live(GROUP, key, T0, limit=5)
    await store.start_live(CHANNEL, KR_TV, T0, limit=5)
    assert await store.stop_live(GROUP, [KR_TV, ChartKey("x", "x", "x", "x", "weekly")]) == 1
    assert [m.key for m in await store.live_of(GROUP)] == [WORLD_TV, NO_CHART]
    assert await store.stop_live(GROUP, None) == 2
    assert await store.live_of(GROUP) == []
    assert [m.key for m in await store.live_of(CHANNEL)] == [KR_TV]


async def test_live_messages_follow_a_moved_chat(backend: Backend) -> None:
    store, subscriptions = backend.live, backend.subscriptions
    await store.start_live(GROUP, WORLD_TV, T0, limit=5)
    await store.start_live(GROUP, KR_TV, T0, limit=5)
    supergroup = Destination("telegram", "-1009")
    # The new address has one of the charts live already: that one is kept once.
    await store.start_live(supergroup, KR_TV, T0, limit=5)
    await backend.outbox.move_destination(GROUP, supergroup)
    await subscriptions.move_destination(GROUP, supergroup)
    assert await store.live_of(GROUP) == []
    assert sorted(m.key for m in await store.live_of(supergroup)) == sorted([WORLD_TV, KR_TV])
    # A plain rename (nothing at the new address) keeps the rows as they are.
    renamed = Destination("telegram", "-1010")
    await subscriptions.move_destination(supergroup, renamed)
    assert len(await store.live_of(renamed)) == 2
