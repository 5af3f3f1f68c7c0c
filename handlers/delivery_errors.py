"""Platform errors → the delivery engine's taxonomy (bot.ports.DeliveryError subclasses).

One small function per platform, so every sender of alerts (and any adapter) maps failures the same
way. The meanings are those of docs/platforms.md, "Failures and what each one means".
"""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram import error as telegram_error
from telegram.warnings import PTBDeprecationWarning

from bot.ports import (
    DeliveryError,
    DeliveryUncertain,
    DestinationGone,
    DestinationMoved,
    MessageRejected,
    RetryLater,
    TransientFailure,
)

with warnings.catch_warnings():
    # discord.py imports the stdlib `audioop` (voice, unused here), deprecated since 3.11.
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord

# Telegram answers 400 for a few "this chat is gone" cases (a deleted group, a closed topic).
TELEGRAM_GONE_PHRASES = (
    "chat not found",
    "message thread not found",
    "topic_deleted",
    "topic_closed",
    "have no rights to send",
    "not enough rights to send",
    "need administrator rights",
    "bot was kicked",
    "bot is not a member",
)

# Discord JSON error codes meaning "you may not post there" or "that channel is gone".
DISCORD_GONE_CODES = {
    10003: "unknown channel",
    10004: "unknown guild",
    50001: "missing access",
    50007: "cannot send messages to this user",
    50013: "missing permissions",
    50083: "thread is archived",
}

# Discord: when discord.py gives up on a 429 it does not say how long to wait; this is Discord's
# usual bucket reset, short enough not to stall a fan-out for long.
DISCORD_DEFAULT_RETRY_SECONDS = 5.0


def telegram_retry_seconds(exc: telegram_error.RetryAfter) -> float:
    """RetryAfter.retry_after in seconds: an int, a float or (PTB_TIMEDELTA) a timedelta."""
    with warnings.catch_warnings():
        # PTB 22 warns when retry_after is read as a number; both forms mean seconds.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def telegram_delivery_error(exc: telegram_error.TelegramError) -> DeliveryError:
    """What a python-telegram-bot error means for a delivery."""
    if isinstance(exc, telegram_error.RetryAfter):
        return RetryLater(telegram_retry_seconds(exc))
    if isinstance(exc, telegram_error.ChatMigrated):
        return DestinationMoved(str(exc.new_chat_id))
    if isinstance(exc, telegram_error.Forbidden):  # blocked by the user, kicked from the group
        return DestinationGone(exc.message)
    if isinstance(exc, telegram_error.BadRequest):
        if any(phrase in exc.message.lower() for phrase in TELEGRAM_GONE_PHRASES):
            return DestinationGone(exc.message)
        return MessageRejected(exc.message)
    if isinstance(exc, telegram_error.TimedOut):
        # PTB cannot tell a request that never left from one whose answer never came back.
        return DeliveryUncertain(exc.message)
    # NetworkError covers 5xx answers and broken connections.
    return TransientFailure(exc.message)


def discord_delivery_error(exc: BaseException) -> DeliveryError:
    """What a discord.py (or aiohttp) error during message creation means for a delivery."""
    if isinstance(exc, discord.RateLimited):
        return RetryLater(exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        if exc.code in DISCORD_GONE_CODES:
            return DestinationGone(DISCORD_GONE_CODES[exc.code])
        if exc.status in (403, 404):
            return DestinationGone(f"HTTP {exc.status}: {exc.text or 'no access'}")
        if exc.status == 429:
            return RetryLater(DISCORD_DEFAULT_RETRY_SECONDS)
        if exc.status >= 500:
            return TransientFailure(f"HTTP {exc.status}: {exc.text}")
        return MessageRejected(f"HTTP {exc.status} (code {exc.code}): {exc.text}")
    if isinstance(exc, TimeoutError):
        return DeliveryUncertain("no answer in time")
    # aiohttp.ClientError, OSError: the connection broke before an answer.
    return TransientFailure(f"{type(exc).__name__}: {exc}")
