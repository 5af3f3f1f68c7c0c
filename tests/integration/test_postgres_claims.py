"""Senders claiming from one PostgreSQL store at the same moment, each on its own pool: every
chat's due rows go to one of them whole (one digest per chat), none twice."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from bot.ports import Batch, ClaimedGroup
from bot.subscriptions import Destination
from storage.postgres import PostgresBackend
from tests.adapters.sender_rig import burst, subscribe_many
from tests.integration.postgres_server import fresh_postgres_url

CHATS = 300
EVENTS = 3
LEASE = timedelta(minutes=5)


async def test_concurrent_claims_never_split_a_chats_digest() -> None:
    url = await fresh_postgres_url()
    stores = [await PostgresBackend.open(url) for _ in range(3)]
    try:
        await stores[0].migrate()
        await subscribe_many(
            stores[0], [Destination("telegram", str(chat)) for chat in range(1, CHATS + 1)]
        )
        await stores[0].save_batch(Batch(events=burst(EVENTS)), queue_deliveries=True)
        now = datetime.now(UTC) + timedelta(seconds=1)
        claimed: list[ClaimedGroup] = []
        while True:
            rounds = await asyncio.gather(
                *(
                    store.outbox.claim("telegram", now, LEASE, 40, claimant=f"sender-{number}")
                    for number, store in enumerate(stores)
                )
            )
            if not any(rounds):
                break
            claimed.extend(group for groups in rounds for group in groups)
    finally:
        for store in stores:
            await store.close()
    per_chat = Counter(group.destination.chat_id for group in claimed)
    assert per_chat == {str(chat): 1 for chat in range(1, CHATS + 1)}
    assert all(len(group.deliveries) == EVENTS for group in claimed)
