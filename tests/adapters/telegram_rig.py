"""The Telegram adapter started against a fake Bot API server, as the adapter tests run it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.commands import CommandService
from bot.delivery.lifecycle import DestinationLifecycle
from handlers.telegram.adapter import TelegramAdapter, TelegramSettings
from tests.fakes import FakeTelegram


@asynccontextmanager
async def running_telegram(
    fake: FakeTelegram, service: CommandService, lifecycle: DestinationLifecycle
) -> AsyncIterator[TelegramAdapter]:
    """A started adapter polling `fake` (1 s long polls); stopped on exit."""
    settings = TelegramSettings(
        token=fake.token,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        poll_timeout=1,
    )
    telegram = TelegramAdapter(service, settings, lifecycle)
    await telegram.start()
    try:
        yield telegram
    finally:
        await telegram.stop()
