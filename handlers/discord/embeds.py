"""A command's Reply as a Discord embed: the embed limits, the colours, the clipping.

Separate from the adapter (handlers.discord.adapter), which receives interactions and runs the
client: how an answer looks is a pure function of the Reply, the same whichever interaction asked.
"""

from __future__ import annotations

import warnings

from bot.commands import Field, Reply
from bot.i18n import chat_translator
from handlers.discord.notifier import BRAND_COLOUR, discord_content, show_picture

with warnings.catch_warnings():
    # discord.py imports the stdlib `audioop` (voice, unused here), deprecated since 3.11.
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord

# Discord's embed limits (message content limits are the notifier's).
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
EMBED_FIELD_NAME_MAX = 256
EMBED_FIELD_VALUE_MAX = 1024
EMBED_FOOTER_MAX = 2048

OK_COLOUR = BRAND_COLOUR
ERROR_COLOUR = discord.Colour.dark_grey()


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_embed(reply: Reply) -> discord.Embed:
    """A reply as an embed; texts from data are markdown-escaped and clipped to Discord's limits."""
    embed = discord.Embed(
        title=clip(("⚠️ " if not reply.ok else "") + reply.title, EMBED_TITLE_MAX),
        description=clip(
            "\n".join(discord_content(line) for line in reply.lines), EMBED_DESCRIPTION_MAX
        )
        or None,
        colour=OK_COLOUR if reply.ok else ERROR_COLOUR,
    )
    fields = list(reply.fields)
    if reply.suggestions:
        did_you_mean = chat_translator(reply.language)._("Did you mean")
        fields.append(Field(did_you_mean, "\n".join(f"• {s}" for s in reply.suggestions)))
    for field in fields[:EMBED_FIELDS_MAX]:
        embed.add_field(
            name=clip(field.name, EMBED_FIELD_NAME_MAX),
            value=clip(discord_content(field.value), EMBED_FIELD_VALUE_MAX) or "—",
            inline=field.inline,
        )
    if reply.footer:
        embed.set_footer(text=clip(reply.footer, EMBED_FOOTER_MAX))
    if reply.picture is not None:
        show_picture(embed, reply.picture)  # uploaded with the answer (_respond)
    return embed
