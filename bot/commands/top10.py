"""/top10: the latest (or a dated) Top 10 of a country, category and service."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date

from bot.chart_history import chart_neighbours
from bot.chart_movement import entry_movements, movement_mark
from bot.commands.context import CommandContext, Handler
from bot.commands.formatting import freshness_note
from bot.commands.registry import Caller
from bot.commands.reply import ArgumentError, Reply, error
from bot.commands.resolvers import (
    resolve_category_argument,
    resolve_date_argument,
    resolve_region_argument,
    resolve_service_argument,
)
from bot.i18n import Translator
from bot.models import WORLD, Chart, ChartKey
from bot.ports import Storage
from bot.render import (
    category_label,
    display_title,
    entry_metrics,
    period_label,
    region_label,
    service_name,
    source_name,
    top10_title,
)
from bot.sources.services import service_from_display_name
from bot.subscriptions import category_matches, fold_category

# When /top10 names no category: the broadest list first.
_CATEGORY_BASE_ORDER = ("overall", "tv", "films", "kids tv", "kids films")
_QUALIFIER_ORDER = ("", "english", "non english")


def _category_rank(category: str) -> tuple[int, int, str]:
    base, qualifier = fold_category(category)
    base_rank = (
        _CATEGORY_BASE_ORDER.index(base)
        if base in _CATEGORY_BASE_ORDER
        else len(_CATEGORY_BASE_ORDER)
    )
    qualifier_rank = (
        _QUALIFIER_ORDER.index(qualifier)
        if qualifier in _QUALIFIER_ORDER
        else len(_QUALIFIER_ORDER)
    )
    return base_rank, qualifier_rank, category


# How /top10 marks a title that was not in the previous chart.
DEBUT_MARK = "🆕"


def format_chart(
    chart: Chart, previous: Chart | None, tr: Translator, returning: Collection[str] = ()
) -> tuple[str, ...]:
    """Rank, title, movement and the metrics the source has, one line per entry.

    `returning`: title ids absent from `previous` that were in this chart before (re-entries,
    marked apart from debuts).
    """
    lines = []
    for entry, movement, places in entry_movements(chart, previous, returning):
        mark = movement_mark(movement, places, new=DEBUT_MARK, back=tr._("↩ back"))
        move = f" {mark}" if mark else ""
        metrics = entry_metrics(entry, tr)
        detail = f" · {metrics}" if metrics else ""
        lines.append(f"{entry.rank}. {display_title(entry.title, entry.season)}{move}{detail}")
    return tuple(lines)


def _select_keys(
    args: Mapping[str, str], region_keys: list[ChartKey], where: str, tr: Translator
) -> list[ChartKey]:
    """The charts of the region that match the service and category asked for."""
    keys = region_keys
    if "service" in args:
        service = resolve_service_argument(args["service"], tr, {k.service for k in keys})
        matching = [k for k in keys if service_from_display_name(k.service) == service]
        if not matching:
            raise ArgumentError(
                error(
                    tr._("No {list} chart for {where}", list=service_name(service), where=where),
                    tr._("Services with a chart there:"),
                    suggestions=sorted({service_name(k.service) for k in keys}),
                )
            )
        keys = matching
    if "category" in args:
        category = resolve_category_argument(args["category"], tr)
        matching = [k for k in keys if category_matches(category, k.category)]
        if not matching:
            raise ArgumentError(
                error(
                    tr._(
                        "No {list} chart for {where}",
                        list=category_label(category, tr),
                        where=where,
                    ),
                    tr._("Lists there:"),
                    suggestions=sorted({category_label(k.category, tr) for k in keys}),
                )
            )
        keys = matching
    return keys


async def select_keys(
    ctx: CommandContext, args: Mapping[str, str]
) -> tuple[str, list[ChartKey], list[ChartKey]]:
    """The region asked for (worldwide by default), its charts (all-time lists aside), and
    those of the service and category asked for. ArgumentError when there are none."""
    tr = ctx.tr
    region = resolve_region_argument(args["region"], tr) if "region" in args else WORLD
    all_keys = await ctx.storage.chart_keys()
    region_keys = [k for k in all_keys if k.region == region and k.granularity != "alltime"]
    if not region_keys:
        stored = sorted({k.region for k in all_keys if k.granularity != "alltime"})
        raise ArgumentError(
            error(
                tr._("No chart stored for {where}", where=region_label(region, tr)),
                tr._("Try /top10 world.")
                if WORLD in stored
                else tr._("Import or poll some data first."),
                suggestions=[f"{region_label(code, tr)} ({code})" for code in stored][:5]
                if WORLD not in stored
                else (),
            )
        )
    keys = _select_keys(args, region_keys, region_label(region, tr), tr)
    return region, region_keys, keys


async def top10(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    tr = ctx.tr
    region, region_keys, keys = await select_keys(ctx, args)
    where = region_label(region, tr)
    settings = await ctx.subscriptions.get_settings(caller.destination)
    wanted_date = (
        resolve_date_argument(args["date"], ctx.today(settings), tr) if "date" in args else None
    )
    chart = await pick_chart(ctx.storage, keys, wanted_date)
    if chart is None:
        day = tr.date(wanted_date) if wanted_date is not None else tr._("today")
        return error(
            tr._("No chart for {where} on or before {date}", where=where, date=day),
            tr._("Try a later date, or leave the date out for the latest chart."),
        )
    key = chart.key
    lists_here = sorted(
        {
            k.category
            for k in region_keys
            if k.category != key.category and service_from_display_name(k.service) == key.service
        }
    )
    footer = f"{source_name(key.source, tr)} · {period_label(key.granularity, chart.period, tr)}"
    if wanted_date is not None and chart.period != wanted_date:
        footer += tr._(" (latest on or before {date})", date=tr.date(wanted_date))
    if lists_here:
        also = ", ".join(category_label(category, tr) for category in lists_here[:6])
        footer += tr._(" · also: {lists}", lists=also)
    if wanted_date is None:
        last_poll = await ctx.last_poll(key.source)
        freshness = freshness_note(
            key.granularity, chart.period, ctx.today(settings), last_poll, tr
        )
        footer += f" · {freshness}"
    previous, returning = await chart_neighbours(ctx.storage, chart)
    return Reply(
        title=top10_title(key, tr),
        lines=format_chart(chart, previous, tr, returning),
        footer=footer,
    )


async def pick_chart(
    storage: Storage, keys: Sequence[ChartKey], on_or_before: date | None = None
) -> Chart | None:
    """The chart /top10 shows: Netflix first, the broadest list, then the freshest source."""

    def preference(key: ChartKey) -> tuple[bool, int, int]:
        base_rank, qualifier_rank, _ = _category_rank(key.category)
        return (service_from_display_name(key.service) != "netflix", base_rank, qualifier_rank)

    best = min(preference(k) for k in keys)
    candidates = [k for k in keys if preference(k) == best]
    charts = [await storage.latest_chart(k, on_or_before=on_or_before) for k in candidates]
    found = [c for c in charts if c is not None]
    if not found:
        # The preferred lists have nothing that old: fall back to any list of the selection.
        others = [k for k in keys if k not in candidates]
        for key in sorted(others, key=preference):
            chart = await storage.latest_chart(key, on_or_before=on_or_before)
            if chart is not None:
                return chart
        return None
    return max(found, key=lambda c: (c.period, c.key.granularity == "daily"))


HANDLERS: Mapping[str, Handler] = {"top10": top10}
