"""The sending budget shared through PostgreSQL ([delivery] shared_budget): turns taken by
different processes (pools) draw on the same buckets, nothing is charged for a turn refused, and
flood control pauses every sender.

Waits are computed from the server's clock between calls a few milliseconds apart; the bounds
leave a second for those calls (intervals are ten seconds), so a loaded machine does not fail
them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.delivery.config import DeliveryConfig
from bot.delivery.pacing import build_pacer
from bot.ports import Bucket, StorageRefused, Turn
from storage import MemoryBackend, open_send_budget
from storage.postgres import PostgresBackend
from storage.postgres.budget import PostgresSendBudget
from tests.integration.postgres_server import fresh_postgres_url

SLACK = 1.0
PLATFORM = Bucket("telegram", interval=10.0, burst=2)


def chat(name: str) -> list[Bucket]:
    return [Bucket(f"telegram:{name}:0", interval=10.0)]


@pytest.fixture
async def budgets() -> AsyncIterator[tuple[PostgresSendBudget, PostgresSendBudget]]:
    """Two senders' budgets: two pools on one database."""
    url = await fresh_postgres_url()
    first = await PostgresBackend.open(url)
    second = await PostgresBackend.open(url)
    try:
        await first.migrate()
        yield first.send_budget(), second.send_budget()
    finally:
        await first.close()
        await second.close()


async def test_senders_draw_on_one_overall_bucket(
    budgets: tuple[PostgresSendBudget, PostgresSendBudget],
) -> None:
    one, two = budgets
    # A burst of two, taken by two senders; then the platform has no room for an interval.
    assert await one.take(PLATFORM, chat("a")) == Turn(True)
    assert await two.take(PLATFORM, chat("b")) == Turn(True)
    third = await one.take(PLATFORM, chat("c"))
    assert not third.granted and not third.chat_busy
    assert 10.0 - SLACK < third.wait <= 10.0
    # Asking again charged nothing: the wait has not grown.
    fourth = await two.take(PLATFORM, chat("d"))
    assert not fourth.granted and fourth.wait <= third.wait


async def test_a_chat_without_room_refuses_and_charges_nothing(
    budgets: tuple[PostgresSendBudget, PostgresSendBudget],
) -> None:
    one, two = budgets
    assert (await one.take(PLATFORM, chat("a"))).granted
    refused = await two.take(PLATFORM, chat("a"))
    assert not refused.granted and refused.chat_busy
    assert 10.0 - SLACK < refused.wait <= 10.0
    # The refusal took no turn of the platform: the second message of the burst is still free.
    assert await one.take(PLATFORM, chat("b")) == Turn(True)


async def test_flood_control_pauses_every_sender(
    budgets: tuple[PostgresSendBudget, PostgresSendBudget],
) -> None:
    one, two = budgets
    await one.pause(PLATFORM, 30.0)
    after = await two.take(PLATFORM, chat("a"))
    assert not after.granted and not after.chat_busy
    assert 30.0 - SLACK < after.wait <= 30.0


def test_the_buckets_are_the_in_memory_pacers() -> None:
    """The shared buckets say what the in-memory limiters do (bot.delivery.pacing)."""
    pacer = build_pacer("telegram", DeliveryConfig(headroom=0.0))
    assert pacer.overall_bucket == Bucket("telegram", 1 / 29, pacer.burst)
    assert pacer.chat_buckets("-100") == (
        Bucket("telegram:-100:0", 1.0),
        Bucket("telegram:-100:1", 3.0),
    )
    assert pacer.chat_buckets("42") == (Bucket("telegram:42:0", 1.0),)


async def test_the_setting_picks_the_budget() -> None:
    memory = MemoryBackend()
    assert open_send_budget(memory, "auto") is None
    assert open_send_budget(memory, "local") is None
    with pytest.raises(StorageRefused, match="needs a postgresql:// store"):
        open_send_budget(memory, "postgresql")
    postgres = await PostgresBackend.open(await fresh_postgres_url())
    try:
        assert isinstance(open_send_budget(postgres, "auto"), PostgresSendBudget)
        assert isinstance(open_send_budget(postgres, "postgresql"), PostgresSendBudget)
        assert open_send_budget(postgres, "local") is None
    finally:
        await postgres.close()
