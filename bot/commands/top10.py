"""/top10: the latest (or a dated) Top 10 of a country, category and service."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import date

from bot.commands.context import CommandContext, Handler
from bot.commands.formatting import chart_step, freshness_note, source_name
from bot.commands.parsing import (
    resolve_category_argument,
    resolve_date_argument,
    resolve_region_argument,
    resolve_service_argument,
)
from bot.commands.registry import Caller
from bot.commands.reply import ArgumentError, Reply, error
from bot.i18n import Translator
from bot.models import WORLD, Chart, ChartKey
from bot.ports import Storage
from bot.render import (
    category_label,
    chart_label,
    display_title,
    period_label,
    region_label,
    service_name,
)
from bot.sources.regions import region_flag, service_from_display_name
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
DEBUT_MARK = " 🆕"


def _movement(
    old: int | None, rank: int, has_previous: bool, returning: bool, tr: Translator
) -> str:
    if not has_previous:
        return ""
    if old is None:
        return tr._(" ↩ back") if returning else DEBUT_MARK
    if old > rank:
        return f" ▲{old - rank}"
    if old < rank:
        return f" ▼{rank - old}"
    return " ="


def format_chart(
    chart: Chart, previous: Chart | None, tr: Translator, returning: Collection[str] = ()
) -> tuple[str, ...]:
    """Rank, title, movement and the metrics the source has, one line per entry.

    `returning`: title ids absent from `previous` that were in this chart before (re-entries,
    marked apart from debuts).
    """
    before = {e.title_id: e.rank for e in previous.entries} if previous else {}
    lines = []
    for entry in sorted(chart.entries, key=lambda e: e.rank):
        move = _movement(
            before.get(entry.title_id),
            entry.rank,
            previous is not None,
            entry.title_id in returning,
            tr,
        )
        metrics = []
        if entry.weeks_in_top10 is not None:
            metrics.append(tr._("{count} wk", count=entry.weeks_in_top10))
        if entry.days_in_top10 is not None:
            metrics.append(tr._("{count} d", count=entry.days_in_top10))
        if entry.points is not None:
            metrics.append(tr._("{count} pts", count=entry.points))
        if entry.views is not None:
            metrics.append(tr._("{value} views", value=tr.compact(entry.views)))
        if entry.hours is not None:
            metrics.append(tr._("{value} h", value=tr.compact(entry.hours)))
        detail = f" · {' · '.join(metrics)}" if metrics else ""
        lines.append(f"{entry.rank}. {display_title(entry.title, entry.season)}{move}{detail}")
    return tuple(lines)


async def returning_titles(storage: Storage, chart: Chart, previous: Chart) -> set[str]:
    """Titles new to `chart` since `previous` that were in this chart before `previous`."""
    before = {e.title_id for e in previous.entries}
    new = [e.title_id for e in chart.entries if e.title_id not in before]
    if not new:
        return set()
    tallies = await storage.rank_tallies(new)
    return {t.title_id for t in tallies if t.key == chart.key and t.first < previous.period}


def top10_title(key: ChartKey, tr: Translator) -> str:
    """'🇰🇷 Top 10 — Netflix · South Korea · TV'."""
    return tr._("{flag} Top 10 — {chart}", flag=region_flag(key.region), chart=chart_label(key, tr))


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
    previous = await previous_chart(ctx.storage, chart)
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
    returning = await returning_titles(ctx.storage, chart, previous) if previous else set()
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


async def previous_chart(storage: Storage, chart: Chart) -> Chart | None:
    """The chart of the period before (None when it is missing or too old to compare with)."""
    granularity = chart.key.granularity
    if granularity not in ("daily", "weekly"):
        return None
    step = chart_step(granularity)
    previous = await storage.latest_chart(chart.key, on_or_before=chart.period - step)
    # Movement against a chart from long ago would mislead; the diff engine bridges 2 gaps.
    if previous is None or chart.period - previous.period > step * 3:
        return None
    return previous


HANDLERS: Mapping[str, Handler] = {"top10": top10}
