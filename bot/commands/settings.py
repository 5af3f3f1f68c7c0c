"""/settings: a chat's time zone, default event types, quiet hours, language and daily digest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from bot.commands.context import CommandContext, Handler
from bot.commands.registry import Caller
from bot.commands.reply import Reply
from bot.commands.resolvers import (
    resolve_digest_argument,
    resolve_event_types_argument,
    resolve_language_argument,
    resolve_quiet_hours_argument,
    resolve_timezone_argument,
)
from bot.i18n import LANGUAGES, Translator, chat_translator
from bot.subscriptions import EVENT_TYPE_LABELS, ChatSettings, describe_event_types


async def settings(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    stored = await ctx.subscriptions.get_settings(caller.destination)
    tr = ctx.tr
    # Every argument is read before anything is saved: one bad value changes nothing.
    current = stored
    if "timezone" in args:
        current = replace(current, timezone=resolve_timezone_argument(args["timezone"], tr))
    if "events" in args:
        current = replace(current, event_types=resolve_event_types_argument(args["events"], tr))
    if "quiet" in args:
        quiet = resolve_quiet_hours_argument(args["quiet"], tr)
        start, end = quiet if quiet is not None else (None, None)
        current = replace(current, quiet_start=start, quiet_end=end)
    if "language" in args:
        current = replace(current, language=resolve_language_argument(args["language"], tr))
    if "digest" in args:
        current = replace(current, digest_at=resolve_digest_argument(args["digest"], tr))
    changed = bool(args)
    if changed:
        # A chat that never chose keeps the language it has been answered in so far.
        current = replace(current, language=current.language or caller.language)
        await ctx.subscriptions.save_settings(caller.destination, current)
        # The answer is in the language just chosen.
        tr = chat_translator(current.language)
    where = tr.gettext(caller.where)
    return Reply(
        title=tr._("Settings of {where} saved", where=where)
        if changed
        else tr._("Settings of {where}", where=where),
        lines=(
            tr._("Time zone: {zone}", zone=current.timezone),
            tr._(
                "Default event types: {types}",
                types=describe_event_types(current.event_types, tr),
            ),
            tr._("Quiet hours: {quiet}", quiet=_quiet_text(current, tr)),
            tr._("Language: {language}", language=_language_text(current, caller, tr)),
            tr._("Daily digest: {digest}", digest=_digest_text(current, tr)),
        ),
        footer=tr._(
            "Event types: {types} · languages: {languages}",
            types=", ".join(t.value for t in EVENT_TYPE_LABELS),
            languages=", ".join(LANGUAGES),
        ),
        language=tr.language,
    )


def _quiet_text(current: ChatSettings, tr: Translator) -> str:
    if current.quiet_start is None or current.quiet_end is None:
        return tr._("none (alerts any time; /settings quiet=22:00-08:00 sets them)")
    return tr._(
        "{start}-{end} {zone} (alerts wait until they end)",
        start=current.quiet_start.strftime("%H:%M"),
        end=current.quiet_end.strftime("%H:%M"),
        zone=current.timezone,
    )


def _digest_text(current: ChatSettings, tr: Translator) -> str:
    if current.digest_at is None:
        return tr._("off (every alert at once; /settings digest=daily@09:00 holds the details)")
    return tr._(
        "{time} {zone} (detail events wait for it; headlines go out at once)",
        time=current.digest_at.strftime("%H:%M"),
        zone=current.timezone,
    )


def _language_text(current: ChatSettings, caller: Caller, tr: Translator) -> str:
    language = current.language or caller.language or tr.language
    name = f"{LANGUAGES.get(language, language)} ({language})"
    if not current.language:
        return tr._("{language}, not chosen yet (/settings language=ko)", language=name)
    return name


HANDLERS: Mapping[str, Handler] = {"settings": settings}
