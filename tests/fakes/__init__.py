"""Fake Telegram Bot API and Discord servers on 127.0.0.1 for tests that drive the real
python-telegram-bot and discord.py. See README.md in this directory.

Names are re-exported lazily so that importing another module of this package (for example
``tests.fakes.source_server``) does not import discord.py and python-telegram-bot.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .discord_server import (
        DiscordApiError,
        DiscordChannel,
        DiscordGuild,
        DiscordMember,
        DiscordMessage,
        DiscordRole,
        FakeDiscord,
        InteractionRejected,
        InteractionResponse,
        RestRequest,
        SentInteraction,
        run_client,
    )
    from .telegram_server import (
        ApiRequest,
        CallbackAnswer,
        FakeTelegram,
        TelegramEdit,
        TelegramSent,
        run_application,
    )

_DISCORD_NAMES = (
    "DiscordApiError",
    "DiscordChannel",
    "DiscordGuild",
    "DiscordMember",
    "DiscordMessage",
    "DiscordRole",
    "FakeDiscord",
    "InteractionRejected",
    "InteractionResponse",
    "RestRequest",
    "SentInteraction",
    "run_client",
)
_TELEGRAM_NAMES = (
    "ApiRequest",
    "CallbackAnswer",
    "FakeTelegram",
    "TelegramEdit",
    "TelegramSent",
    "run_application",
)
_MODULE_OF = dict.fromkeys(_DISCORD_NAMES, "discord_server") | dict.fromkeys(
    _TELEGRAM_NAMES, "telegram_server"
)

__all__ = [
    "ApiRequest",
    "CallbackAnswer",
    "DiscordApiError",
    "DiscordChannel",
    "DiscordGuild",
    "DiscordMember",
    "DiscordMessage",
    "DiscordRole",
    "FakeDiscord",
    "FakeTelegram",
    "InteractionRejected",
    "InteractionResponse",
    "RestRequest",
    "SentInteraction",
    "TelegramEdit",
    "TelegramSent",
    "run_application",
    "run_client",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)
