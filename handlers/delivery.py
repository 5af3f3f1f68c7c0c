"""Alert senders for the delivery engine (bot.ports.AlertNotifier) over the adapters' clients.

They send exactly one message per call (the engine has already cut digests to the platform's
limit), carry Discord's nonce, and raise the delivery taxonomy (handlers.delivery_errors), which
is what the engine's retries, dead letters and crash guarantees are built on. They reuse the
python-telegram-bot `Bot` and the discord.py `Client` of the chat adapters: one connection pool,
one gateway session.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Iterable
from typing import Any

from telegram import Bot, LinkPreviewOptions
from telegram.error import TelegramError

from bot.outbox import DISCORD_TEXT_LIMIT, TELEGRAM_TEXT_LIMIT, utf16_length
from bot.ports import AlertNotifier, Notifier
from bot.sender import PlainAlertNotifier
from bot.subscriptions import Destination, Platform
from handlers.delivery_errors import discord_delivery_error, telegram_delivery_error

with warnings.catch_warnings():
    # discord.py imports the stdlib `audioop` (voice, unused here), deprecated since 3.11.
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord

log = logging.getLogger(__name__)

# discord.py starts sweeping idle rate-limit buckets at this many (see amortise_bucket_sweeps).
BUCKET_SWEEP_START = 256
# How often to look whether the Discord adapter has logged in yet (only at start-up).
LOGIN_POLL_SECONDS = 0.5
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class TelegramAlertSender:
    """Alerts as plain-text Telegram messages (no parse mode: nothing to escape, and the length
    Telegram counts is the length of the text)."""

    platform = Platform.TELEGRAM.value
    text_limit = TELEGRAM_TEXT_LIMIT
    deduplicates = False  # the Bot API has no idempotency key

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def wait_until_ready(self) -> None:
        # Idempotent: a no-op once the adapter's Application has initialised the bot (getMe).
        await self._bot.initialize()

    def text_length(self, text: str) -> int:
        return utf16_length(text)

    async def send(
        self, destination: str, text: str, *, idempotency_key: str | None = None
    ) -> None:
        # Telegram has no idempotency key: a resent message is a duplicate (see bot/sender.py).
        target = Destination.from_address(self.platform, destination)
        try:
            await self._bot.send_message(
                chat_id=int(target.chat_id),
                text=text,
                message_thread_id=int(target.thread_id) if target.thread_id else None,
                link_preview_options=_NO_PREVIEW,
            )
        except TelegramError as exc:
            raise telegram_delivery_error(exc) from exc

    async def tell_owner(self, destination: str, text: str) -> bool:
        # A user who blocked the bot, or a group that removed it, cannot be written to.
        return False


def amortise_bucket_sweeps(client: discord.Client) -> None:
    """Make discord.py's clean-up of idle rate-limit buckets cost constant time per request.

    discord.py 2.7 keeps one bucket per channel and, once it holds 256, scans every bucket for
    idle ones (none idle for 300 s yet) each time it creates a new one
    (`HTTPClient._try_clear_expired_ratelimits`): a fan-out to N channels costs N²/2 checks —
    about 15 minutes of CPU for 50,000 channels, with the event loop blocked all along. Sweeping
    only when the number of buckets has doubled since the last sweep removes the same idle
    buckets in amortised constant time. (Private names of discord.py, pinned < 2.8 in
    pyproject.toml; without them the client is left as it is.)
    """
    http: Any = client.http
    sweep = getattr(http, "_try_clear_expired_ratelimits", None)
    buckets = getattr(http, "_buckets", None)
    if sweep is None or not isinstance(buckets, dict) or getattr(http, "_top10_amortised", False):
        return
    next_sweep = [BUCKET_SWEEP_START]

    def amortised_sweep() -> None:
        if len(http._buckets) < next_sweep[0]:
            return
        sweep()
        next_sweep[0] = max(BUCKET_SWEEP_START, 2 * len(http._buckets))

    http._try_clear_expired_ratelimits = amortised_sweep
    http._top10_amortised = True


class DiscordAlertSender:
    """Alerts as Discord channel messages with a nonce, so that Discord drops a repeat."""

    platform = Platform.DISCORD.value
    text_limit = DISCORD_TEXT_LIMIT
    deduplicates = True  # enforce_nonce: a repeat within minutes returns the first message

    def __init__(self, client: discord.Client) -> None:
        self._client = client
        amortise_bucket_sweeps(client)

    async def wait_until_ready(self) -> None:
        """Until the adapter's client has logged in and its gateway session is ready."""
        while True:
            try:
                await self._client.wait_until_ready()
                return
            except RuntimeError:
                # discord.py refuses to wait before login; the adapter logs in shortly.
                await asyncio.sleep(LOGIN_POLL_SECONDS)

    @staticmethod
    def _content(text: str) -> str:
        # Titles are data: "*" or "_" in one must not turn the rest of the line into markup.
        return discord.utils.escape_markdown(text, as_needed=True)

    def text_length(self, text: str) -> int:
        return len(self._content(text))

    async def send(
        self, destination: str, text: str, *, idempotency_key: str | None = None
    ) -> None:
        target = Destination.from_address(self.platform, destination)
        # A thread is a channel of its own on Discord.
        channel_id = int(target.thread_id or target.chat_id)
        channel = self._client.get_partial_messageable(channel_id)
        try:
            if idempotency_key is None:
                await channel.send(
                    self._content(text), allowed_mentions=discord.AllowedMentions.none()
                )
            else:
                # discord.py sends enforce_nonce with a nonce: Discord answers a repeat within a
                # few minutes with the message it already created.
                await channel.send(
                    self._content(text),
                    nonce=idempotency_key,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
        except Exception as exc:
            raise discord_delivery_error(exc) from exc

    async def tell_owner(self, destination: str, text: str) -> bool:
        """DM the owner of the server the channel belongs to (known from the gateway cache)."""
        target = Destination.from_address(self.platform, destination)
        channel = self._client.get_channel(int(target.chat_id))
        guild = getattr(channel, "guild", None)
        if not isinstance(guild, discord.Guild) or guild.owner_id is None:
            return False
        try:
            # A DM channel needs only the user's id: no user lookup, no member cache.
            dm = await self._client.create_dm(discord.Object(id=guild.owner_id))
            await dm.send(
                f"{text}\n(Server: {guild.name}, channel id {target.chat_id})",
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            log.info("discord: could not DM the owner of %s: %s", guild.name, exc)
            return False
        return True


def alert_senders(adapters: Iterable[Notifier]) -> list[AlertNotifier]:
    """What the delivery engine sends through, one per running chat adapter: the platform
    clients of the Telegram and Discord adapters, the plain `send` of anything else (console)."""
    # Imported here: building the list must not make every user of this module load both SDKs'
    # adapters (and their command registries).
    from handlers.discord_bot import DiscordAdapter
    from handlers.telegram_bot import TelegramAdapter

    senders: list[AlertNotifier] = []
    for adapter in adapters:
        if isinstance(adapter, TelegramAdapter):
            senders.append(TelegramAlertSender(adapter.application.bot))
        elif isinstance(adapter, DiscordAdapter):
            senders.append(DiscordAlertSender(adapter.client))
        else:
            senders.append(PlainAlertNotifier(adapter))
    return senders
