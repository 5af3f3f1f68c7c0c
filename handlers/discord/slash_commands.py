"""The slash commands, generated from the registry: options, choices, permissions, translations.

Separate from the adapter (handlers.discord.adapter), which runs the client and answers: this is
what Discord is told the commands look like (bot.commands.COMMANDS made app commands, their
descriptions in every language Discord has a locale for), built once at start-up.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.commands import Argument, ArgumentKind, Command
from bot.i18n import DEFAULT_LANGUAGE, language_from_platform, translator
from bot.render import category_label
from handlers.discord.embeds import clip

with warnings.catch_warnings():
    # discord.py imports the stdlib `audioop` (voice, unused here), deprecated since 3.11.
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord
    from discord import app_commands

COMMAND_DESCRIPTION_MAX = 100

Interaction = discord.Interaction[discord.Client]

ADMIN_PERMISSIONS = discord.Permissions(manage_channels=True)

Autocomplete = Callable[[Interaction, str], Awaitable[list[app_commands.Choice[str]]]]

# What runs a command: the interaction, the command and its options as Discord gave them.
RunCommand = Callable[[Interaction, Command, Mapping[str, Any]], Awaitable[None]]


class CommandTranslator(app_commands.Translator):
    """Command and option descriptions, and category choices, in every language of ours that
    Discord has a locale for (its clients show them in the user's language). Names stay as they
    are: the same /top10 and `region` on every platform, in /help and in typed examples."""

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = language_from_platform(locale.value)
        if not language or language == DEFAULT_LANGUAGE:
            return None
        where = context.location
        tr = translator(language)
        if where is app_commands.TranslationContextLocation.choice_name:
            if string.extras.get("kind") != ArgumentKind.CATEGORY.value:
                return None  # service and language names are names
            text = category_label(string.message, tr)
        elif where in (
            app_commands.TranslationContextLocation.command_description,
            app_commands.TranslationContextLocation.parameter_description,
        ):
            text = clip(tr.gettext(string.message), COMMAND_DESCRIPTION_MAX)
        else:
            return None
        return text if text != string.message else None


def app_command(
    command: Command, run: RunCommand, autocomplete: Callable[[Argument], Autocomplete]
) -> app_commands.Command[Any, Any, None]:
    """An app command whose options are the registry's arguments (all strings); `run` runs it
    and `autocomplete` gives an argument's suggestions."""

    async def callback(interaction: Interaction, /, **options: Any) -> None:
        await run(interaction, command, options)

    parameters = [
        inspect.Parameter(
            "interaction",
            inspect.Parameter.POSITIONAL_ONLY,
            annotation=discord.Interaction,
        )
    ]
    for argument in command.arguments:
        parameters.append(
            inspect.Parameter(
                argument.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=str if argument.required else str | None,
                default=inspect.Parameter.empty if argument.required else None,
            )
        )
    # discord.py reads options from the signature and these attributes (what its
    # @describe, @choices and @autocomplete decorators set).
    hooks: Any = callback
    hooks.__signature__ = inspect.Signature(parameters)
    hooks.__discord_app_commands_param_description__ = {
        a.name: clip(a.description, COMMAND_DESCRIPTION_MAX) for a in command.arguments
    }
    hooks.__discord_app_commands_param_choices__ = {
        a.name: [
            app_commands.Choice(
                name=app_commands.locale_str(c.label, kind=a.kind.value), value=c.value
            )
            for c in a.choices
        ]
        for a in command.arguments
        if a.choices
    }
    hooks.__discord_app_commands_param_autocomplete__ = {
        a.name: autocomplete(a) for a in command.arguments if a.autocomplete
    }
    if command.needs_admin:
        hooks.__discord_app_commands_default_permissions__ = ADMIN_PERMISSIONS
    return app_commands.Command(
        name=command.name,
        description=clip(command.description, COMMAND_DESCRIPTION_MAX),
        callback=callback,
    )
