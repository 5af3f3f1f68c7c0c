"""Everything top10bot sends to Discord that is not an interaction answer: alerts, operator
alerts, and a DM to the owner of a server whose channel the bot lost (who can give the access
back; the sender deactivates the channel, keeping its subscriptions).

Its limits, its error map and its text measure are declared here, once. Alerts go out as channel
messages, markdown-escaped (titles are data), mentions off, with a nonce so that Discord drops a
repeat; one message per call: bot.delivery has already cut the text to DISCORD_CONTENT_MAX.
"""

from __future__ import annotations

import asyncio
import io
import logging
import warnings
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any, NoReturn

import aiohttp

from bot.commands.reply import Button
from bot.metrics import Metrics
from bot.pictures.model import Picture
from bot.ports import (
    DeliveryError,
    DeliveryUncertain,
    DestinationGone,
    MessageGone,
    MessageRejected,
    RetryLater,
    TransientFailure,
)
from bot.subscriptions import Destination, Platform

with warnings.catch_warnings():
    # discord.py imports the stdlib `audioop` (voice, unused here), deprecated since 3.11.
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord

log = logging.getLogger(__name__)

# Message content: at most 2000 characters (as sent, so after markdown escaping).
DISCORD_CONTENT_MAX = 2000
# An attachment's description (alt text) holds at most 1024 characters.
DISCORD_ATTACHMENT_DESCRIPTION_MAX = 1024
# A nonce holds at most 25 characters (bot.delivery.digest keys fit).
DISCORD_NONCE_MAX = 25
# The overall and per-channel ceilings are pacing, configured in [delivery]
# (bot.delivery.config): 50 requests/s for a bot, ~5 messages per 5 s in a channel.

# The bot may not do this there (post at all, or upload a file).
DISCORD_MISSING_PERMISSIONS = 50013
# JSON error codes meaning "you may not post there" or "that channel is gone".
DISCORD_GONE_CODES = {
    10003: "unknown channel",
    10004: "unknown guild",
    50001: "missing access",
    50007: "cannot send messages to this user",
    DISCORD_MISSING_PERMISSIONS: "missing permissions",
    50083: "thread is archived",
}
# "Unknown Message": the message to edit was deleted (a live message is then posted anew).
DISCORD_UNKNOWN_MESSAGE = 10008
# The stripe of every embed: replies and the one that shows an alert's picture.
BRAND_COLOUR = discord.Colour.from_rgb(229, 9, 20)
# When discord.py gives up on a 429 it does not say how long to wait; this is Discord's usual
# bucket reset, short enough not to stall a fan-out for long.
DISCORD_DEFAULT_RETRY_SECONDS = 5.0

# discord.py starts sweeping idle rate-limit buckets at this many (see amortise_bucket_sweeps).
BUCKET_SWEEP_START = 256
# How often to look whether the client has logged in yet (only at start-up).
LOGIN_POLL_SECONDS = 0.5


def lost_channel_notice(reason: str, guild_name: str, channel_id: str) -> str:
    """What the owner of a server is told when the bot can no longer post in one of its channels."""
    return (
        f"top10bot can no longer post alerts in this channel ({reason}). Its subscriptions "
        "are kept: give the bot its access back and use /subscribe there to resume.\n"
        f"(Server: {guild_name}, channel id {channel_id})"
    )


def discord_content(text: str) -> str:
    """Plain text as message content: "*" or "_" in a title must not turn the line into markup."""
    return discord.utils.escape_markdown(text, as_needed=True)


def discord_text_length(text: str) -> int:
    """What Discord counts: the characters of the escaped content."""
    return len(discord_content(text))


def discord_delivery_error(exc: BaseException) -> DeliveryError:
    """What a discord.py (or aiohttp) error during message creation means for a delivery."""
    if isinstance(exc, discord.RateLimited):
        return RetryLater(exc.retry_after)
    if isinstance(exc, discord.HTTPException):
        if exc.code == DISCORD_UNKNOWN_MESSAGE:
            return MessageGone(exc.text or "unknown message")
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


def rate_limit_trace(metrics: Metrics) -> aiohttp.TraceConfig:
    """For discord.Client(http_trace=…): counts every flood-control answer (429), including
    those discord.py waits out and retries without telling anyone."""

    async def on_request_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        if params.response.status == 429:
            metrics.rate_limited(Platform.DISCORD.value)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    return trace


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


def picture_file(picture: Picture) -> discord.File:
    """A picture as an upload (a new one per request: discord.py reads it as it sends)."""
    return discord.File(
        io.BytesIO(picture.data),
        filename=picture.filename,
        description=picture.description[:DISCORD_ATTACHMENT_DESCRIPTION_MAX] or None,
    )


def show_picture(embed: discord.Embed, picture: Picture) -> discord.Embed:
    """The uploaded picture shown inside the embed (attachment://<its file name>)."""
    return embed.set_image(url=f"attachment://{picture.filename}")


def command_view(buttons: Sequence[Button]) -> discord.ui.View:
    """Command buttons as one row. Their custom ids are the reply buttons' payloads, which the
    adapter's dynamic item answers (after a restart too)."""
    view = discord.ui.View(timeout=None)
    for button in buttons:
        view.add_item(
            discord.ui.Button(
                label=button.label, custom_id=button.payload(), style=discord.ButtonStyle.primary
            )
        )
    return view


class DiscordNotifier:
    """bot.ports.Notifier over a discord.py `Client`: the adapter's (gateway connected), or one
    that only logged in over REST (`top10bot deliveries send`: `gateway=False`)."""

    platform = Platform.DISCORD.value
    text_limit = DISCORD_CONTENT_MAX
    caption_limit = DISCORD_CONTENT_MAX  # content beside an embed keeps its limit
    deduplicates = True  # enforce_nonce: a repeat within minutes returns the first message

    def __init__(self, client: discord.Client, *, gateway: bool = True) -> None:
        self.client = client
        self._gateway = gateway
        amortise_bucket_sweeps(client)

    async def wait_until_ready(self) -> None:
        """Until the client has logged in (and, with a gateway, its session is ready)."""
        while True:
            try:
                if self._gateway:
                    await self.client.wait_until_ready()
                elif not self.client.is_ready() and self.client.user is None:
                    raise RuntimeError("not logged in")
                return
            except RuntimeError:
                # discord.py refuses to wait before login; the adapter logs in shortly.
                await asyncio.sleep(LOGIN_POLL_SECONDS)

    def text_length(self, text: str) -> int:
        return discord_text_length(text)

    async def send(
        self,
        destination: str,
        text: str,
        *,
        idempotency_key: str | None = None,
        buttons: Sequence[Button] = (),
        picture: Picture | None = None,
    ) -> None:
        await self._create(destination, text, idempotency_key, buttons, picture)

    async def post(self, destination: str, text: str, *, idempotency_key: str | None = None) -> str:
        return await self._create(destination, text, idempotency_key, ())

    async def edit(self, destination: str, message_id: str, text: str) -> None:
        target = Destination.from_address(self.platform, destination)
        if not message_id.isdigit():
            raise MessageGone(f"not a Discord message id: {message_id!r}")
        channel = self.client.get_partial_messageable(int(target.thread_id or target.chat_id))
        try:
            await channel.get_partial_message(int(message_id)).edit(
                content=discord_content(text), allowed_mentions=discord.AllowedMentions.none()
            )
        except Exception as exc:
            await self._raise_for(target, exc)

    async def _create(
        self,
        destination: str,
        text: str,
        idempotency_key: str | None,
        buttons: Sequence[Button],
        picture: Picture | None = None,
    ) -> str:
        """POST a channel message (with a picture: uploaded, shown in an embed); the new
        message's id."""
        target = Destination.from_address(self.platform, destination)
        # A thread is a channel of its own on Discord.
        channel = self.client.get_partial_messageable(int(target.thread_id or target.chat_id))
        # discord.py sends enforce_nonce with a nonce: Discord answers a repeat within a few
        # minutes with the message it already created.
        extra: dict[str, Any] = {"nonce": idempotency_key} if idempotency_key else {}
        if buttons:
            extra["view"] = command_view(buttons)
        if picture is not None:
            # The nonce covers the upload too: a repeat returns the first message, picture and all.
            extra["file"] = picture_file(picture)
            extra["embed"] = show_picture(discord.Embed(colour=BRAND_COLOUR), picture)
        try:
            message = await channel.send(
                discord_content(text), allowed_mentions=discord.AllowedMentions.none(), **extra
            )
        except discord.Forbidden as exc:
            if picture is None or exc.code != DISCORD_MISSING_PERMISSIONS:
                await self._raise_for(target, exc)
            # A channel may allow posting but not Attach Files: the alert still goes out, as
            # text (nothing was created, so the same nonce is free).
            log.info("discord: no Attach Files in %s; sent without the picture", destination)
            return await self._create(destination, text, idempotency_key, buttons)
        except Exception as exc:
            await self._raise_for(target, exc)
        return str(message.id)

    async def _raise_for(self, target: Destination, exc: Exception) -> NoReturn:
        error = discord_delivery_error(exc)
        if isinstance(error, DestinationGone):
            await self.tell_owner(target.chat_id, error.reason)
        raise error from exc

    async def tell_owner(self, channel_id: str, reason: str) -> bool:
        """DM the owner of the server a lost channel belongs to, when the gateway cache knows
        it (not over REST only); False when there is nobody to tell or the DM fails."""
        channel = self.client.get_channel(int(channel_id))
        guild = getattr(channel, "guild", None)
        if not isinstance(guild, discord.Guild) or guild.owner_id is None:
            return False
        try:
            # A DM channel needs only the user's id: no user lookup, no member cache.
            dm = await self.client.create_dm(discord.Object(id=guild.owner_id))
            await dm.send(
                lost_channel_notice(reason, guild.name, channel_id),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            log.info("discord: could not DM the owner of %s: %s", guild.name, exc)
            return False
        log.info("discord: told the owner of %s that channel %s is lost", guild.name, channel_id)
        return True
