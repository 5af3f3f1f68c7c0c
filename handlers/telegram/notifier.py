"""Everything top10bot sends to Telegram that is not a command reply: alerts (a chart's card as a
photo), operator alerts.

Its limits, its error map and its text measure are declared here, once. Alerts go out as plain
text (no parse mode: nothing to escape, and the length Telegram counts is the length of the text),
one message per call: bot.delivery has already cut the text to TELEGRAM_TEXT_MAX.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Sequence
from datetime import timedelta

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram import error as telegram_error
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.commands.reply import Button
from bot.metrics import Metrics
from bot.pictures.model import Picture
from bot.ports import (
    DeliveryError,
    DeliveryUncertain,
    DestinationGone,
    DestinationMoved,
    MessageGone,
    MessageRejected,
    RetryLater,
    TransientFailure,
)
from bot.subscriptions import Destination, Platform

# Bot API sendMessage: at most 4096 characters of text, counted in UTF-16 units (after entity
# parsing; alerts have no entities).
TELEGRAM_TEXT_MAX = 4096
# Bot API sendPhoto: a caption holds 0–1024 characters (UTF-16 units, as for text).
TELEGRAM_CAPTION_MAX = 1024
# Photos uploaded once and re-sent by their file_id (a burst's card goes to many chats): how many
# file ids are remembered.
TELEGRAM_PHOTO_IDS_KEPT = 256
# Bot API setMyCommands: a command description holds 1–256 characters.
TELEGRAM_COMMAND_DESCRIPTION_MAX = 256
# The overall and per-chat ceilings are pacing, configured in [delivery] (bot.delivery.config):
# ~30 messages/s in all, ~1/s in one chat, 20/min in one group (Bots FAQ).

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

# editMessageText answers 400 with these when the message is not there to edit (deleted, or in
# a chat the bot left): a live message is then posted anew.
TELEGRAM_MESSAGE_GONE_PHRASES = (
    "message to edit not found",
    "message can't be edited",
    "message_id_invalid",
)
# …and with this when the text is what the message already shows (an edit repeated after a
# crash): nothing to do.
TELEGRAM_NOT_MODIFIED = "message is not modified"

_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def counted_request(metrics: Metrics, *, read_timeout: float | None) -> HTTPXRequest:
    """PTB's HTTP client (its defaults otherwise) that counts every flood-control answer (429),
    including those PTB's rate limiter waits out and retries without telling anyone."""

    async def on_response(response: httpx.Response) -> None:
        if response.status_code == 429:
            metrics.rate_limited(Platform.TELEGRAM.value)

    return HTTPXRequest(
        read_timeout=read_timeout, httpx_kwargs={"event_hooks": {"response": [on_response]}}
    )


def command_keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """Command buttons as one row of an inline keyboard; the adapter answers their callbacks."""
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.payload()) for b in buttons]]
    )


def telegram_text_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units): an emoji outside the BMP counts 2."""
    return len(text.encode("utf-16-le")) // 2


def telegram_retry_seconds(exc: telegram_error.RetryAfter) -> float:
    """RetryAfter.retry_after in seconds: an int, a float or (PTB_TIMEDELTA) a timedelta."""
    with warnings.catch_warnings():
        # PTB 22 warns when retry_after is read as a number; both forms mean seconds.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: int | float | timedelta = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def telegram_delivery_error(exc: telegram_error.TelegramError) -> DeliveryError:
    """What a python-telegram-bot error means for a delivery (docs: platforms.md, "Failures")."""
    if isinstance(exc, telegram_error.RetryAfter):
        return RetryLater(telegram_retry_seconds(exc))
    if isinstance(exc, telegram_error.ChatMigrated):
        return DestinationMoved(str(exc.new_chat_id))
    if isinstance(exc, telegram_error.Forbidden):  # blocked by the user, kicked from the group
        return DestinationGone(exc.message)
    if isinstance(exc, telegram_error.BadRequest):
        if any(phrase in exc.message.lower() for phrase in TELEGRAM_MESSAGE_GONE_PHRASES):
            return MessageGone(exc.message)
        if any(phrase in exc.message.lower() for phrase in TELEGRAM_GONE_PHRASES):
            return DestinationGone(exc.message)
        return MessageRejected(exc.message)
    if isinstance(exc, telegram_error.TimedOut):
        # PTB cannot tell a request that never left from one whose answer never came back.
        return DeliveryUncertain(exc.message)
    # NetworkError covers 5xx answers and broken connections.
    return TransientFailure(exc.message)


class TelegramNotifier:
    """bot.ports.Notifier over a python-telegram-bot `Bot` (the adapter's, or one of its own for
    `top10bot deliveries send`)."""

    platform = Platform.TELEGRAM.value
    text_limit = TELEGRAM_TEXT_MAX
    caption_limit = TELEGRAM_CAPTION_MAX
    deduplicates = False  # the Bot API has no idempotency key

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        # Picture digest → the file_id Telegram gave it: uploaded once, then referred to.
        self._photo_ids: OrderedDict[str, str] = OrderedDict()

    async def wait_until_ready(self) -> None:
        # Idempotent: a no-op once the bot is initialised (getMe); a bad token fails here.
        await self.bot.initialize()

    def text_length(self, text: str) -> int:
        return telegram_text_length(text)

    async def send(
        self,
        destination: str,
        text: str,
        *,
        idempotency_key: str | None = None,
        buttons: Sequence[Button] = (),
        picture: Picture | None = None,
    ) -> None:
        # Telegram has no idempotency key: a resent message is a duplicate (bot/delivery/sender).
        await self._send(destination, text, buttons, picture)

    async def post(self, destination: str, text: str, *, idempotency_key: str | None = None) -> str:
        return await self._send(destination, text, ())

    async def edit(self, destination: str, message_id: str, text: str) -> None:
        target = Destination.from_address(self.platform, destination)
        if not message_id.lstrip("-").isdigit():
            raise MessageGone(f"not a Telegram message id: {message_id!r}")
        try:
            await self.bot.edit_message_text(
                text=text,
                chat_id=int(target.chat_id),
                message_id=int(message_id),
                link_preview_options=_NO_PREVIEW,
            )
        except telegram_error.TelegramError as exc:
            if TELEGRAM_NOT_MODIFIED in exc.message.lower():
                return
            raise telegram_delivery_error(exc) from exc

    async def _send(
        self,
        destination: str,
        text: str,
        buttons: Sequence[Button],
        picture: Picture | None = None,
    ) -> str:
        """sendMessage (with a picture: one photo whose caption is the text); the new message's
        id."""
        target = Destination.from_address(self.platform, destination)
        chat_id = int(target.chat_id)
        thread_id = int(target.thread_id) if target.thread_id else None
        try:
            if picture is not None:
                return await self._send_photo(chat_id, thread_id, text, buttons, picture)
            message = await self.bot.send_message(
                chat_id=chat_id,
                text=text,
                message_thread_id=thread_id,
                link_preview_options=_NO_PREVIEW,
                reply_markup=command_keyboard(buttons),
            )
        except telegram_error.TelegramError as exc:
            # Nobody to tell about a lost chat: a user who blocked the bot, or a group that
            # removed it, did so themselves and cannot be written to.
            raise telegram_delivery_error(exc) from exc
        return str(message.message_id)

    async def _send_photo(
        self,
        chat_id: int,
        thread_id: int | None,
        caption: str,
        buttons: Sequence[Button],
        picture: Picture,
    ) -> str:
        """The picture by its file_id when it was uploaded before, else uploaded (once); the
        new message's id."""
        known = self._photo_ids.get(picture.digest)
        if known is not None:
            try:
                sent = await self.bot.send_photo(
                    chat_id,
                    known,
                    caption=caption,
                    message_thread_id=thread_id,
                    reply_markup=command_keyboard(buttons),
                )
                return str(sent.message_id)
            except telegram_error.BadRequest as exc:
                # "wrong file identifier", "wrong remote file…": nothing was sent; upload the
                # bytes. Any other refusal is the message's own.
                if "file" not in exc.message.lower():
                    raise
                self._photo_ids.pop(picture.digest, None)
        message = await self.bot.send_photo(
            chat_id,
            picture.data,
            filename=picture.filename,
            caption=caption,
            message_thread_id=thread_id,
            reply_markup=command_keyboard(buttons),
        )
        if message.photo:
            self._photo_ids[picture.digest] = message.photo[-1].file_id
            while len(self._photo_ids) > TELEGRAM_PHOTO_IDS_KEPT:
                self._photo_ids.popitem(last=False)
        return str(message.message_id)
