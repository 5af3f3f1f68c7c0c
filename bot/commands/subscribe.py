"""/subscribe, /unsubscribe and /subscriptions: what a chat receives alerts about."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from bot.commands.context import CommandContext, Handler
from bot.commands.formatting import subscription_line
from bot.commands.lookup import TitleSearch
from bot.commands.registry import COMMANDS_BY_NAME, Caller
from bot.commands.reply import (
    MAX_BUTTON_LABEL,
    MAX_BUTTON_PAYLOAD,
    ArgumentError,
    Button,
    Reply,
    decode_button,
    error,
)
from bot.commands.resolvers import (
    resolve_category_argument,
    resolve_event_types_argument,
    resolve_region_argument,
    resolve_service_argument,
)
from bot.commands.untrusted import ascii_digits, quoted
from bot.events import EventType
from bot.i18n import Translator
from bot.sources.services import service_from_display_name
from bot.subscriptions import (
    SubscriptionSpec,
    category_matches,
    describe_event_types,
    describe_spec,
    title_ref,
    wants_details,
)


async def subscribe(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    tr = ctx.tr
    if not caller.bot_can_post:
        return error(
            tr._("I cannot post here"),
            tr._(
                "Give the bot the Send Messages and Embed Links permissions in this channel first."
            ),
        )
    show = None
    if "title" in args:
        found = await ctx.titles.search(args["title"])
        if found.show is None:
            return await _title_choices(ctx, args, found)
        show = found.show
    region = resolve_region_argument(args["region"], tr) if "region" in args else None
    service = resolve_service_argument(args["service"], tr) if "service" in args else None
    category = resolve_category_argument(args["category"], tr) if "category" in args else None
    types: frozenset[EventType] = (
        resolve_event_types_argument(args["events"], tr) if "events" in args else frozenset()
    )
    spec = SubscriptionSpec(
        show=show.norm if show else None,
        show_title=show.name if show else None,
        service=service,
        region=region,
        category=category,
        event_types=types,
        details="events" in args and wants_details(args["events"]),
    )
    if spec.is_empty():
        return error(
            tr._("Subscribe to what?"),
            tr._("Name a title, a chart (region, category, service) or event types:"),
            *COMMANDS_BY_NAME["subscribe"].examples,
        )
    subscription, added = await ctx.subscriptions.add_subscription(caller.destination, spec)
    settings = await ctx.subscriptions.get_settings(caller.destination)
    if not settings.language and caller.language:
        # A new chat's alerts come in the language it was answered in (the platform's hint).
        settings = replace(settings, language=caller.language)
        await ctx.subscriptions.save_settings(caller.destination, settings)
    lines = [describe_spec(spec, tr)]
    if not spec.event_types and settings.event_types:
        defaults = describe_event_types(settings.event_types, tr)
        lines.append(tr._("This chat's default event types apply: {types}.", types=defaults))
    if not await _chart_exists(ctx, spec):
        lines.append(tr._("No matching chart is stored yet: alerts start when its data arrives."))
    if added:
        return Reply(
            title=tr._(
                "Subscribed #{number} — alerts go to {where}",
                number=subscription.id,
                where=tr.gettext(caller.where),
            ),
            lines=tuple(lines),
            footer=tr._("/subscriptions lists them · /unsubscribe <number> stops one"),
        )
    return Reply(
        title=tr._("Already subscribed (#{number})", number=subscription.id),
        lines=tuple(lines),
        footer=tr._("/subscriptions lists them"),
    )


async def _title_choices(ctx: CommandContext, args: Mapping[str, str], found: TitleSearch) -> Reply:
    """Nothing subscribed: the typed title names no show clearly. Each choice is a button that
    runs the same /subscribe with the exact show (numbered in the console)."""
    typed = args["title"]
    tr = ctx.tr
    if not found.choices:
        reply = await ctx.titles.no_clear_match(typed, found, tr)
        return replace(
            reply,
            lines=(
                tr._("Nothing subscribed: no stored title is close to that."),
                tr._(
                    "For a chart, name a region (KR, Korea, world), a category (TV, films) or a"
                    " service."
                ),
            ),
        )
    others = tuple((name, value) for name, value in args.items() if name != "title")
    buttons = tuple(
        Button(
            show.name[:MAX_BUTTON_LABEL], "subscribe", (("title", title_ref(show.norm)), *others)
        )
        for show in found.choices
    )
    if not all(_carried(button) for button in buttons):
        # Other arguments too long (or too odd) to carry: name the titles, to be typed exactly.
        return await ctx.titles.no_clear_match(typed, found, tr)
    return Reply(
        title=tr._("Which title is {text}?", text=quoted(typed)),
        lines=(tr._("Nothing subscribed yet: pick the title you mean."),),
        buttons=buttons,
        ok=False,
    )


def _carried(button: Button) -> bool:
    """Whether a platform can carry the button and give it back as it was."""
    payload = button.payload()
    return len(payload.encode()) <= MAX_BUTTON_PAYLOAD and decode_button(payload) is not None


async def _chart_exists(ctx: CommandContext, spec: SubscriptionSpec) -> bool:
    if spec.service is None and spec.region is None and spec.category is None:
        return True
    for key in await ctx.storage.chart_keys():
        if spec.service is not None and service_from_display_name(key.service) != spec.service:
            continue
        if spec.region is not None and key.region != spec.region:
            continue
        if spec.category is not None and not category_matches(spec.category, key.category):
            continue
        return True
    return False


# Subscription numbers are the store's row ids: 64-bit signed integers.
MAX_SUBSCRIPTION_ID = 2**63 - 1


def subscription_number(text: str, tr: Translator) -> int:
    """The number of a subscription, in digits of any script ("12", "#١٢"), signed or not.

    Raises ArgumentError for anything else (a fraction, "1e309", a superscript "²").
    """
    digits = ascii_digits(text)
    if not re.fullmatch(r"[+-]?[0-9]+", digits):
        raise ArgumentError(
            error(
                tr._("Not a subscription number: {text}", text=quoted(text)),
                tr._("Use the number shown by /subscriptions, or 'all'."),
            )
        )
    return int(digits)


async def unsubscribe(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    tr = ctx.tr
    wanted = args["subscription"].strip().lstrip("#").strip()
    if wanted.casefold() == "all":
        removed = await ctx.subscriptions.remove_all_subscriptions(caller.destination)
        return Reply(title=tr.n_("Removed {n} subscription", "Removed {n} subscriptions", removed))
    number = subscription_number(wanted, tr)
    # A number no store can hold (SQLite's ids are 64-bit, from 1) names no subscription: it is
    # not passed on, where it would overflow.
    if 1 <= number <= MAX_SUBSCRIPTION_ID and await ctx.subscriptions.remove_subscription(
        caller.destination, number
    ):
        return Reply(title=tr._("Unsubscribed #{number}", number=number))
    current = await ctx.subscriptions.subscriptions_of(caller.destination)
    return error(
        tr._("No subscription #{number} here", number=number),
        tr._("Subscriptions of this chat:") if current else tr._("This chat has no subscriptions."),
        suggestions=[subscription_line(s, tr) for s in current][:10],
    )


async def subscriptions(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    tr = ctx.tr
    current = await ctx.subscriptions.subscriptions_of(caller.destination)
    settings = await ctx.subscriptions.get_settings(caller.destination)
    state = await ctx.subscriptions.destination_state(caller.destination)
    footer = tr._(
        "Default event types: {types}", types=describe_event_types(settings.event_types, tr)
    )
    if state is not None and not state.active:
        # The adapters' reasons are marked for the catalogs ("blocked by the user"); others
        # (a platform's error text) stay as they were recorded.
        reason = tr.gettext(state.reason)
        paused = tr._("Paused: {reason}. Subscribe again to resume", reason=reason)
        footer = f"{paused} · {footer}"
    where = tr.gettext(caller.where)
    if not current:
        return Reply(
            title=tr._("No subscriptions in {where}", where=where),
            lines=(tr._("Try /subscribe KR TV, /subscribe Squid Game or /subscribe records."),),
            footer=footer,
        )
    return Reply(
        title=tr._("Subscriptions of {where}", where=where),
        lines=tuple(subscription_line(s, tr) for s in current),
        footer=footer,
    )


HANDLERS: Mapping[str, Handler] = {
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "subscriptions": subscriptions,
}
