"""A command's Reply in a Telegram chat: Telegram HTML, an inline keyboard, the messages sent.

Separate from the adapter (handlers.telegram.adapter), which runs the application and reads
updates: how an answer looks and is cut into messages is the same whichever update asked.
"""

from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import Forbidden

from bot.commands import Reply
from bot.delivery.text import split_text
from bot.i18n import chat_translator
from handlers.telegram.notifier import TELEGRAM_CAPTION_MAX, TELEGRAM_TEXT_MAX, telegram_text_length

# Part of the adapter: its log lines go out under the adapter's name, as operators know them.
log = logging.getLogger("handlers.telegram.adapter")


def render_html(reply: Reply) -> str:
    """A reply as Telegram HTML; every text from data is escaped."""
    esc = html.escape
    tr = chat_translator(reply.language)
    parts = [f"<b>{'⚠️ ' if not reply.ok else ''}{esc(reply.title)}</b>"]
    parts.extend(esc(line) for line in reply.lines)
    for field in reply.fields:
        parts.append("")
        parts.append(f"<b>{esc(field.name)}</b>")
        parts.extend(esc(line) for line in field.value.split("\n"))
    if reply.suggestions:
        parts.append("")
        did_you_mean = tr._("Did you mean:")
        parts.append(f"<i>{esc(did_you_mean)}</i>")
        parts.extend(f"• {esc(hint)}" for hint in reply.suggestions)
    if reply.footer:
        parts.append("")
        parts.append(f"<i>{esc(reply.footer)}</i>")
    return "\n".join(parts)


def reply_keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    buttons = [InlineKeyboardButton(b.label, callback_data=b.payload()) for b in reply.buttons]
    # Several buttons are choices between titles, too long to share a row.
    return InlineKeyboardMarkup([[button] for button in buttons])


async def send_reply(message: Message, reply: Reply) -> None:
    """The reply as messages: with a picture, a photo whose caption is the start of the
    text, then the rest; the buttons under the last."""
    picture = reply.picture
    chunks = split_text(
        render_html(reply),
        TELEGRAM_TEXT_MAX,
        telegram_text_length,
        first_limit=TELEGRAM_CAPTION_MAX if picture is not None else None,
    )
    try:
        for position, chunk in enumerate(chunks):
            last = position == len(chunks) - 1
            markup = reply_keyboard(reply) if last else None
            if position == 0 and picture is not None:
                await message.reply_photo(
                    picture.data,
                    filename=picture.filename,
                    caption=chunk,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    do_quote=False,
                )
                continue
            await message.reply_text(
                chunk, parse_mode=ParseMode.HTML, reply_markup=markup, do_quote=False
            )
    except Forbidden as exc:
        log.info("telegram: cannot answer in chat %s: %s", message.chat.id, exc.message)
