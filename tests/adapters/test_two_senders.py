"""Two senders sharing one store (SQLite and PostgreSQL), against the fake Telegram server.

A sender that stalls (its event loop, or its link to the store) for longer than its lease loses
its claims to the other sender, which sends them. When it wakes up it must not send them a second
time: before a message goes out, its rows must still be this sender's (the claim names its
sender, and a renewal only extends rows the sender still holds).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from bot.delivery.config import DeliveryConfig
from bot.delivery.pacing import PlatformPacer, build_pacer
from bot.delivery.sender import Sender
from bot.ports import Backend, Batch, DeliveryCounts, Outbox
from bot.subscriptions import Destination
from storage import open_send_budget
from storage.postgres import PostgresBackend
from tests.adapters.sender_rig import (
    NETFLIX_WORLD,
    burst,
    fast_config,
    running,
    telegram_bot,
    telegram_sender,
)
from tests.adapters.test_sender_pacing import TELEGRAM_SCALE, TELEGRAM_SCALED
from tests.fakes import FakeTelegram
from tests.integration.backends import open_test_backend
from tests.integration.postgres_server import fresh_postgres_url

CHATS = list(range(7001, 7021))
# Short, so that the test does not wait long for the stalled sender's leases to run out.
LEASE_SECONDS = 0.5


class Stall:
    """Blocks one sender's sends until it is over; once `started`, its claims and lease renewals
    too (as a stalled event loop, or a lost connection to the store, would)."""

    def __init__(self) -> None:
        self.started = False
        self.over = asyncio.Event()

    async def wait(self) -> None:
        await self.over.wait()


class StalledOutbox:
    """The store as the stalled sender reaches it."""

    def __init__(self, outbox: Outbox, stall: Stall) -> None:
        self._outbox = outbox
        self._stall = stall

    async def claim(self, *args: Any, **kwargs: Any) -> Any:
        if self._stall.started:
            await self._stall.wait()
        return await self._outbox.claim(*args, **kwargs)

    async def extend_lease(
        self, ids: Sequence[int], until: datetime, *, claimant: str = ""
    ) -> list[int]:
        if self._stall.started:
            await self._stall.wait()
        return await self._outbox.extend_lease(ids, until, claimant=claimant)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outbox, name)


class StalledPacer(PlatformPacer):
    """Sending waits for the stall to end (before the message is chosen, like a slow loop)."""

    def __init__(self, pacer: PlatformPacer, stall: Stall) -> None:
        self.__dict__.update(pacer.__dict__)
        self._stall = stall

    async def overall(self) -> None:
        await self._stall.wait()
        await super().overall()


def stalled_pacer(config: DeliveryConfig, stall: Stall) -> PlatformPacer:
    return StalledPacer(build_pacer("telegram", config), stall)


async def eventually(check: Callable[[], bool], max_wait_s: float = 30.0) -> None:
    """Wait until `check` holds (a bound against hangs, not a timing assertion)."""
    async with asyncio.timeout(max_wait_s):
        while not check():  # noqa: ASYNC110 - sender state, no event to wait on
            await asyncio.sleep(0.01)


async def settled(backend: Backend, max_wait_s: float = 30.0) -> DeliveryCounts:
    async with asyncio.timeout(max_wait_s):
        while True:
            counts = await backend.outbox.counts()
            if counts.pending == 0 and counts.failed == 0:
                return counts
            await asyncio.sleep(0.02)


@asynccontextmanager
async def shared_store(kind: str, folder: Path) -> AsyncIterator[Backend]:
    backend = await open_test_backend(kind, folder)
    try:
        yield backend
    finally:
        await backend.close()


async def subscribe(backend: Backend, chats: Iterable[int]) -> None:
    for chat in chats:
        await backend.subscriptions.add_subscription(
            Destination("telegram", str(chat)), NETFLIX_WORLD
        )


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_sender_that_stalled_past_its_lease_does_not_send_what_another_took_over(
    kind: str, tmp_path: Path, make_fake_telegram: Any
) -> None:
    fake: FakeTelegram = await make_fake_telegram(time_scale=TELEGRAM_SCALE)
    config = fast_config(**TELEGRAM_SCALED, lease_seconds=LEASE_SECONDS)
    stall = Stall()
    async with (
        shared_store(kind, tmp_path) as backend,
        telegram_bot(fake) as bot_a,
        telegram_bot(fake) as bot_b,
    ):
        await subscribe(backend, CHATS)
        await backend.save_batch(Batch(events=burst(1)), queue_deliveries=True)
        first = Sender(
            StalledOutbox(backend.outbox, stall),  # type: ignore[arg-type]
            [telegram_sender(bot_a)],
            backend.subscriptions,
            config,
            pacers={"telegram": stalled_pacer(config, stall)},
        )
        lane = first._lanes["telegram"]
        async with running(first):
            # The first sender claims every chat's digest, then stalls.
            await eventually(lambda: lane.open_items == len(CHATS))
            stall.started = True
            second = Sender(backend.outbox, [telegram_sender(bot_b)], backend.subscriptions, config)
            async with running(second):
                # Its leases run out; the second sender takes the rows over and sends them.
                await fake.wait_until(lambda: len(fake.sent) >= len(CHATS), 30)
                counts = await settled(backend)
                stall.over.set()
                # The first sender wakes up: it finds the rows are no longer its own.
                await eventually(lambda: lane.open_items == 0 and not lane.held)
    per_chat = Counter(message.chat_id for message in fake.sent)
    assert per_chat == dict.fromkeys(CHATS, 1)
    assert first.stats.messages_sent == 0 and first.stats.taken_over >= 1
    assert second.stats.messages_sent == len(CHATS)
    assert (counts.sent, counts.dead) == (len(CHATS), 0)
    assert fake.rate_limited == 0


class WatchedOutbox:
    """Tells when the sender listens, and when a claim it started after that has come back."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._started = 0
        self._listening_from: int | None = None
        self.quiet = asyncio.Event()

    async def listen(self, wake: Callable[[], None]) -> None:
        def woken() -> None:
            if self._listening_from is None:
                self._listening_from = self._started
            wake()

        await self._outbox.listen(woken)

    async def claim(self, *args: Any, **kwargs: Any) -> Any:
        number = self._started
        self._started += 1
        groups = await self._outbox.claim(*args, **kwargs)
        if self._listening_from is not None and number >= self._listening_from:
            self.quiet.set()
        return groups

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outbox, name)


async def test_a_sender_is_woken_by_deliveries_another_process_queues(
    make_fake_telegram: Any,
) -> None:
    """PostgreSQL: the poller's transaction NOTIFYs; a sender LISTENing on its own connection
    wakes at once instead of at its next poll (an hour away here)."""
    fake: FakeTelegram = await make_fake_telegram(time_scale=TELEGRAM_SCALE)
    config = fast_config(**TELEGRAM_SCALED, idle_poll_seconds=3600)
    url = await fresh_postgres_url()
    sending = await PostgresBackend.open(url)
    try:
        await sending.migrate()
        await subscribe(sending, CHATS[:3])
        outbox = WatchedOutbox(sending.outbox)
        async with telegram_bot(fake) as bot:
            sender = Sender(
                outbox,  # type: ignore[arg-type]
                [telegram_sender(bot)],
                sending.subscriptions,
                config,
            )
            async with running(sender):
                # It listens, and has looked for work since: nothing is due; it sleeps.
                await asyncio.wait_for(outbox.quiet.wait(), 30)
                polling = await PostgresBackend.open(url)  # the poller: another pool
                try:
                    await polling.save_batch(Batch(events=burst(1)), queue_deliveries=True)
                finally:
                    await polling.close()
                await fake.wait_until(lambda: len(fake.sent) == 3, 30)
    finally:
        await sending.close()
    assert sorted(message.chat_id for message in fake.sent) == CHATS[:3]


# A low ceiling (5 messages per 0.1 s, i.e. 50/s at the fake's scale) that one sender alone
# reaches even on a loaded machine: two senders pacing on their own would cross it.
LOW_CEILING = 5
LOW_CEILING_SCALED = {
    **TELEGRAM_SCALED,
    "telegram_per_second": LOW_CEILING / TELEGRAM_SCALE,
    "telegram_reply_reserve_per_second": 0.5 / TELEGRAM_SCALE,
    # Each sender holds a few seconds' worth of chats at most: both take part.
    "claim_batch": 20,
    # A shared turn is taken on the database server, a round trip before the message leaves:
    # at the fake's 0.1 s windows (on a loaded machine, two senders in one event loop) that
    # jitter needs more room than fast_config's 10 %. At the platforms' one-second windows it
    # is a few milliseconds.
    "headroom": 0.2,
}


async def test_two_senders_together_stay_under_the_platform_ceiling(
    make_fake_telegram: Any,
) -> None:
    """Each sender alone may use the whole ceiling; sharing the budget through PostgreSQL, the
    two together still get no flood-control answer (pacing alone, they send twice as fast)."""
    fake: FakeTelegram = await make_fake_telegram(
        time_scale=TELEGRAM_SCALE, overall_per_s=LOW_CEILING
    )
    config = fast_config(**LOW_CEILING_SCALED, shared_budget="postgresql")
    chats = list(range(30_001, 30_301))
    url = await fresh_postgres_url()
    stores = [await PostgresBackend.open(url) for _ in range(2)]
    try:
        await stores[0].migrate()
        await subscribe(stores[0], chats)
        await stores[0].save_batch(Batch(events=burst(1)), queue_deliveries=True)
        async with telegram_bot(fake) as bot_a, telegram_bot(fake) as bot_b:
            senders = [
                Sender(
                    store.outbox,
                    [telegram_sender(bot)],
                    store.subscriptions,
                    config,
                    budget=open_send_budget(store, config.shared_budget),
                )
                for store, bot in zip(stores, (bot_a, bot_b), strict=True)
            ]
            async with running(senders[0]), running(senders[1]):
                counts = await settled(stores[0], 60)
    finally:
        for store in stores:
            await store.close()
    assert fake.rate_limited == 0
    assert Counter(message.chat_id for message in fake.sent) == dict.fromkeys(chats, 1)
    assert (counts.sent, counts.dead) == (len(chats), 0)
    # Both took part.
    assert all(sender.stats.messages_sent > 0 for sender in senders), [
        sender.stats.messages_sent for sender in senders
    ]
