"""Fixtures that start and stop the fake Telegram and Discord servers for adapter tests."""

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from telegram.ext import ApplicationBuilder

from tests.fakes import FakeDiscord, FakeTelegram


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A started FakeTelegram with the real flood-control ceilings."""
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def make_fake_telegram() -> AsyncIterator[Callable[..., Any]]:
    """``await make_fake_telegram(**kwargs)``: a started FakeTelegram built with ``kwargs``
    (e.g. scaled-down ceilings); stopped after the test."""
    async with AsyncExitStack() as stack:

        async def make(**kwargs: Any) -> FakeTelegram:
            return await stack.enter_async_context(FakeTelegram(**kwargs))

        yield make


@pytest.fixture
def telegram_builder(fake_telegram: FakeTelegram) -> ApplicationBuilder:  # type: ignore[type-arg]
    """An ApplicationBuilder already pointed at ``fake_telegram`` (token, base URLs)."""
    return (
        ApplicationBuilder()
        .token(fake_telegram.token)
        .base_url(fake_telegram.base_url)
        .base_file_url(fake_telegram.base_file_url)
    )


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord with discord.py patched to use it (REST base and gateway)."""
    async with FakeDiscord() as fake:
        with fake.patch_discord():
            yield fake


@pytest.fixture
async def make_fake_discord() -> AsyncIterator[Callable[..., Any]]:
    """``await make_fake_discord(**kwargs)``: a started, patched-in FakeDiscord built with
    ``kwargs``; stopped and unpatched after the test."""
    async with AsyncExitStack() as stack:

        async def make(**kwargs: Any) -> FakeDiscord:
            fake = await stack.enter_async_context(FakeDiscord(**kwargs))
            stack.enter_context(fake.patch_discord())
            return fake

        yield make
