"""The platforms' notifiers without their chat adapters, for `top10bot deliveries send` and the
`sender` and `poller` roles of `top10bot run`.

A run from cron sends what the outbox holds and ends: it needs no command handling, no Telegram
long-poll and no Discord gateway session. Telegram gets a python-telegram-bot `Bot` of its own;
Discord a discord.py client logged in over REST only (its gateway cache, and so telling a
server owner about a lost channel, is then unavailable).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from bot.metrics import NO_METRICS, Metrics
from bot.ports import Notifier
from handlers.runner import config_table
from handlers.secrets import redact_in_logs

log = logging.getLogger(__name__)


def platforms_with_token(sections: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    """The chat platforms a token is configured for (nothing is contacted)."""
    from handlers.discord.settings import discord_settings
    from handlers.telegram.settings import telegram_settings

    platforms: list[str] = []
    if discord_settings(config_table(sections, "discord"), environ) is not None:
        platforms.append("discord")
    if telegram_settings(config_table(sections, "telegram"), environ) is not None:
        platforms.append("telegram")
    return platforms


@asynccontextmanager
async def open_notifiers(
    sections: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    only: Collection[str] | None = None,
    metrics: Metrics = NO_METRICS,
) -> AsyncIterator[list[Notifier]]:
    """A notifier for each platform with a token (config or environment, as `run` reads them),
    of the platforms in `only` if given; an empty list when none has one. Their clients are
    closed on the way out; they count the platforms' 429s in `metrics`."""
    from handlers.discord.settings import discord_settings
    from handlers.telegram.settings import telegram_settings

    notifiers: list[Notifier] = []
    async with AsyncExitStack() as stack:
        discord_config = discord_settings(config_table(sections, "discord"), environ)
        if discord_config is not None and (only is None or "discord" in only):
            notifiers.append(
                await stack.enter_async_context(_discord(discord_config.token, metrics))
            )
        telegram_config = telegram_settings(config_table(sections, "telegram"), environ)
        if telegram_config is not None and (only is None or "telegram" in only):
            notifiers.append(
                await stack.enter_async_context(
                    _telegram(
                        telegram_config.token,
                        telegram_config.base_url,
                        telegram_config.base_file_url,
                        telegram_config.read_timeout,
                        metrics,
                    )
                )
            )
        yield notifiers


@asynccontextmanager
async def _telegram(
    token: str,
    base_url: str | None,
    base_file_url: str | None,
    read_timeout: float,
    metrics: Metrics,
) -> AsyncIterator[Notifier]:
    from telegram import Bot

    from handlers.telegram.notifier import TelegramNotifier, counted_request

    redact_in_logs(token, "TELEGRAM_TOKEN")
    urls: dict[str, Any] = {}
    if base_url:
        urls["base_url"] = base_url
    if base_file_url:
        urls["base_file_url"] = base_file_url
    bot = Bot(token, request=counted_request(metrics, read_timeout=read_timeout), **urls)
    async with bot:  # getMe: a bad token fails here (InvalidToken)
        yield TelegramNotifier(bot)


@asynccontextmanager
async def _discord(token: str, metrics: Metrics) -> AsyncIterator[Notifier]:
    # After the notifier: it imports discord.py with its deprecation warning filtered.
    import discord

    from handlers.discord.notifier import DiscordNotifier, rate_limit_trace

    redact_in_logs(token, "DISCORD_TOKEN")
    client = discord.Client(
        intents=discord.Intents.none(),
        allowed_mentions=discord.AllowedMentions.none(),
        http_trace=rate_limit_trace(metrics),
    )
    try:
        await client.login(token)  # REST only: a bad token fails here (LoginFailure)
        yield DiscordNotifier(client, gateway=False)
    finally:
        await client.close()
