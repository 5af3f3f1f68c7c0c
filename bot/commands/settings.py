"""/settings: a chat's time zone, default event types, quiet hours and daily digest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.commands.context import CommandContext, Handler
from bot.commands.parsing import (
    resolve_digest_argument,
    resolve_event_types_argument,
    resolve_quiet_hours_argument,
    resolve_timezone_argument,
)
from bot.commands.registry import Caller
from bot.commands.reply import Reply
from bot.subscriptions import EVENT_TYPE_LABELS, ChatSettings, describe_event_types


async def settings(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    current = await ctx.subscriptions.get_settings(caller.destination)
    changed = False
    if "timezone" in args:
        current = replace(current, timezone=resolve_timezone_argument(args["timezone"]))
        changed = True
    if "events" in args:
        current = replace(current, event_types=resolve_event_types_argument(args["events"]))
        changed = True
    if "quiet" in args:
        quiet = resolve_quiet_hours_argument(args["quiet"])
        start, end = quiet if quiet is not None else (None, None)
        current = replace(current, quiet_start=start, quiet_end=end)
        changed = True
    if "digest" in args:
        current = replace(current, digest_at=resolve_digest_argument(args["digest"]))
        changed = True
    if changed:
        await ctx.subscriptions.save_settings(caller.destination, current)
    return Reply(
        title=f"Settings of {caller.where}" + (" saved" if changed else ""),
        lines=(
            f"Time zone: {current.timezone}",
            f"Default event types: {describe_event_types(current.event_types)}",
            f"Quiet hours: {_quiet_text(current)}",
            f"Daily digest: {_digest_text(current)}",
        ),
        footer="Event types: " + ", ".join(t.value for t in EVENT_TYPE_LABELS),
    )


def _quiet_text(current: ChatSettings) -> str:
    if current.quiet_start is None or current.quiet_end is None:
        return "none (alerts any time; /settings quiet=22:00-08:00 sets them)"
    return (
        f"{current.quiet_start:%H:%M}-{current.quiet_end:%H:%M} {current.timezone}"
        " (alerts wait until they end)"
    )


def _digest_text(current: ChatSettings) -> str:
    if current.digest_at is None:
        return "off (every alert at once; /settings digest=daily@09:00 holds the details)"
    return (
        f"{current.digest_at:%H:%M} {current.timezone} (detail events wait for it; headlines"
        " go out at once)"
    )


HANDLERS: Mapping[str, Handler] = {"settings": settings}
