"""/live: a Top 10 posted in this chat and edited in place every new period of its chart.

The command only records what is wanted (bot.live_store); the sender posts and edits the message
through the platform's notifier (bot.delivery.live), so it survives restarts and comes back if
someone deletes it.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.commands.context import CommandContext, Handler
from bot.commands.registry import Caller
from bot.commands.reply import Reply, error
from bot.commands.resolvers import (
    resolve_category_argument,
    resolve_region_argument,
    resolve_service_argument,
    resolve_switch_argument,
)
from bot.commands.top10 import pick_chart, select_keys
from bot.i18n import Translator
from bot.live_store import LiveMessage, LiveStart, LiveStore
from bot.render import chart_label
from bot.sources.services import service_from_display_name
from bot.subscriptions import category_matches

# Live messages one chat may have (all its topics together): each edit counts against the
# platform's per-chat ceilings, like any message.
MAX_LIVE_PER_CHAT = 5


async def live(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    tr = ctx.tr
    store = ctx.live
    if store is None:
        return error(
            tr._("Live Top 10s are not available here"), tr._("This bot runs without a store.")
        )
    if resolve_switch_argument(args.get("action", "start"), tr) == "stop":
        return await _stop(store, args, caller, tr)
    if not caller.bot_can_post:
        return error(
            tr._("I cannot post here"),
            tr._("Give the bot the Send Messages permission in this channel first."),
        )
    _, _, keys = await select_keys(ctx, args)
    chart = await pick_chart(ctx.storage, keys)
    if chart is None:  # pragma: no cover - select_keys only returns keys with a stored chart
        return error(tr._("No chart stored for that yet"))
    key = chart.key
    started, _ = await store.start_live(
        caller.destination, key, ctx.clock(), limit=MAX_LIVE_PER_CHAT
    )
    if started is LiveStart.FULL:
        current = await store.live_of(caller.destination)
        return error(
            tr._("This chat has {count} live Top 10s already", count=MAX_LIVE_PER_CHAT),
            tr._("Stop one first (/live stop <region> [category]) or all of them (/live off)."),
            suggestions=[chart_label(message.key, tr) for message in current],
        )
    ctx.live_changed()
    where, label = tr.gettext(caller.where), chart_label(key, tr)
    daily = key.granularity == "daily"
    if started is LiveStart.EXISTING:
        return Reply(
            title=tr._("Already live in {where}: {chart}", where=where, chart=label),
            lines=(
                tr._("It is edited every new day; if it was deleted, I post it again now.")
                if daily
                else tr._("It is edited every new week; if it was deleted, I post it again now."),
            ),
            footer=tr._("/live stop … ends it"),
        )
    return Reply(
        title=tr._("Live Top 10 in {where}: {chart}", where=where, chart=label),
        lines=(
            tr._(
                "I post it now and edit that same message every new day; if someone deletes"
                " it, I post it again."
            )
            if daily
            else tr._(
                "I post it now and edit that same message every new week; if someone deletes"
                " it, I post it again."
            ),
        ),
        footer=tr._("/live stop … ends it · at most {count} per chat", count=MAX_LIVE_PER_CHAT),
    )


def _named(args: Mapping[str, str], message: LiveMessage, tr: Translator) -> bool:
    """Whether a live message is one the arguments of /live stop name."""
    key = message.key
    if "region" in args and key.region != resolve_region_argument(args["region"], tr):
        return False
    if "service" in args:
        service = resolve_service_argument(args["service"], tr)
        if service_from_display_name(key.service) != service:
            return False
    return "category" not in args or category_matches(
        resolve_category_argument(args["category"], tr), key.category
    )


async def _stop(store: LiveStore, args: Mapping[str, str], caller: Caller, tr: Translator) -> Reply:
    current = await store.live_of(caller.destination)
    chosen = [message for message in current if _named(args, message, tr)]
    if not chosen:
        where = tr.gettext(caller.where)
        return error(
            tr._("No live Top 10 in {where} matches that", where=where)
            if current
            else tr._("No live Top 10 in {where}", where=where),
            tr._("Live here:") if current else tr._("Start one with /live KR (or /live world TV)."),
            suggestions=[chart_label(message.key, tr) for message in current],
        )
    keys = None if len(chosen) == len(current) else [message.key for message in chosen]
    stopped = await store.stop_live(caller.destination, keys)
    return Reply(
        title=tr.n_("Stopped {n} live Top 10", "Stopped {n} live Top 10s", stopped),
        lines=tuple(chart_label(message.key, tr) for message in chosen),
        footer=tr._("The messages stay as they are; they are no longer edited."),
    )


HANDLERS: Mapping[str, Handler] = {"live": live}
