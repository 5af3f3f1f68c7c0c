"""Every command runs through CommandService on ten real weeks of Netflix's official Top 10."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.commands import CommandRateLimiter, CommandService
from storage.memory import MemoryBackend
from storage.memory.subscriptions import MemorySubscriptionStore
from tests.chat_fixtures import load_chat_history
from tests.unit.commands.command_helpers import Clock


@pytest.fixture
async def storage() -> AsyncIterator[MemoryBackend]:
    store = MemoryBackend()
    await store.migrate()
    await load_chat_history(store)
    yield store


@pytest.fixture
def service(storage: MemoryBackend) -> CommandService:
    # Rate limiting has its own test; here a test may run many commands as one user.
    generous = CommandRateLimiter(burst=1000, per_seconds=1)
    return CommandService(storage, MemorySubscriptionStore(), clock=Clock(), rate_limiter=generous)
