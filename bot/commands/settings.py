"""/settings: a chat's time zone and default event types."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.commands.context import CommandContext, Handler
from bot.commands.parsing import resolve_event_types_argument, resolve_timezone_argument
from bot.commands.registry import Caller
from bot.commands.reply import Reply
from bot.subscriptions import EVENT_TYPE_LABELS, describe_event_types


async def settings(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    current = await ctx.subscriptions.get_settings(caller.destination)
    changed = False
    if "timezone" in args:
        current = replace(current, timezone=resolve_timezone_argument(args["timezone"]))
        changed = True
    if "events" in args:
        current = replace(current, event_types=resolve_event_types_argument(args["events"]))
        changed = True
    if changed:
        await ctx.subscriptions.save_settings(caller.destination, current)
    return Reply(
        title=f"Settings of {caller.where}" + (" saved" if changed else ""),
        lines=(
            f"Time zone: {current.timezone}",
            f"Default event types: {describe_event_types(current.event_types)}",
        ),
        footer="Event types: " + ", ".join(t.value for t in EVENT_TYPE_LABELS),
    )


HANDLERS: Mapping[str, Handler] = {"settings": settings}
