"""/help: the command list, generated from the registry."""

from __future__ import annotations

from collections.abc import Mapping

from bot.commands.context import CommandContext, Handler
from bot.commands.registry import COMMANDS, Caller
from bot.commands.reply import Field, Reply
from bot.i18n import Translator


def help_reply(tr: Translator) -> Reply:
    """The command list, generated from the registry."""
    lines = [f"{command.usage()} — {tr.gettext(command.description)}" for command in COMMANDS]
    examples = [example for command in COMMANDS for example in command.examples[:1]]
    return Reply(
        title=tr._("top10bot commands"),
        lines=tuple(lines),
        fields=(Field(tr._("Examples"), "\n".join(examples)),),
        footer=tr._("In groups and servers, only admins (Manage Channels) change subscriptions."),
    )


async def help_command(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    return help_reply(ctx.tr)


HANDLERS: Mapping[str, Handler] = {"help": help_command}
