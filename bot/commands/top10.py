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
from bot.models import WORLD, Chart, ChartKey
from bot.render import (
    big_number,
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
REENTRY_MARK = " ↩ back"


def _movement(old: int | None, rank: int, has_previous: bool, returning: bool) -> str:
    if not has_previous:
        return ""
    if old is None:
        return REENTRY_MARK if returning else DEBUT_MARK
    if old > rank:
        return f" ▲{old - rank}"
    if old < rank:
        return f" ▼{rank - old}"
    return " ="


def format_chart(
    chart: Chart, previous: Chart | None, returning: Collection[str] = ()
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
        )
        metrics = []
        if entry.weeks_in_top10 is not None:
            metrics.append(f"{entry.weeks_in_top10} wk")
        if entry.days_in_top10 is not None:
            metrics.append(f"{entry.days_in_top10} d")
        if entry.points is not None:
            metrics.append(f"{entry.points} pts")
        if entry.views is not None:
            metrics.append(f"{big_number(entry.views)} views")
        if entry.hours is not None:
            metrics.append(f"{big_number(entry.hours)} h")
        detail = f" · {' · '.join(metrics)}" if metrics else ""
        lines.append(f"{entry.rank}. {display_title(entry.title, entry.season)}{move}{detail}")
    return tuple(lines)


async def _returning_titles(ctx: CommandContext, chart: Chart, previous: Chart) -> set[str]:
    """Titles new to `chart` since `previous` that were in this chart before `previous`."""
    before = {e.title_id for e in previous.entries}
    new = [e.title_id for e in chart.entries if e.title_id not in before]
    if not new:
        return set()
    tallies = await ctx.storage.rank_tallies(new)
    return {t.title_id for t in tallies if t.key == chart.key and t.first < previous.period}


def _select_keys(
    args: Mapping[str, str], region_keys: list[ChartKey], where: str
) -> list[ChartKey]:
    """The charts of the region that match the service and category asked for."""
    keys = region_keys
    if "service" in args:
        service = resolve_service_argument(args["service"], {k.service for k in keys})
        matching = [k for k in keys if service_from_display_name(k.service) == service]
        if not matching:
            raise ArgumentError(
                error(
                    f"No {service_name(service)} chart for {where}",
                    "Services with a chart there:",
                    suggestions=sorted({service_name(k.service) for k in keys}),
                )
            )
        keys = matching
    if "category" in args:
        category = resolve_category_argument(args["category"])
        matching = [k for k in keys if category_matches(category, k.category)]
        if not matching:
            raise ArgumentError(
                error(
                    f"No {category} chart for {where}",
                    "Lists there:",
                    suggestions=sorted({k.category for k in keys}),
                )
            )
        keys = matching
    return keys


async def top10(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    region = resolve_region_argument(args["region"]) if "region" in args else WORLD
    all_keys = await ctx.storage.chart_keys()
    region_keys = [k for k in all_keys if k.region == region and k.granularity != "alltime"]
    if not region_keys:
        stored = sorted({k.region for k in all_keys if k.granularity != "alltime"})
        return error(
            f"No chart stored for {region_label(region)}",
            "Try /top10 world." if WORLD in stored else "Import or poll some data first.",
            suggestions=[f"{region_label(code)} ({code})" for code in stored][:5]
            if WORLD not in stored
            else (),
        )
    where = region_label(region)
    keys = _select_keys(args, region_keys, where)
    settings = await ctx.subscriptions.get_settings(caller.destination)
    wanted_date = (
        resolve_date_argument(args["date"], ctx.today(settings)) if "date" in args else None
    )
    chart = await _pick_chart(ctx, keys, wanted_date)
    if chart is None:
        return error(
            f"No chart for {where} on or before {wanted_date}",
            "Try a later date, or leave the date out for the latest chart.",
        )
    key = chart.key
    previous = await _previous_chart(ctx, chart)
    lists_here = sorted(
        {
            k.category
            for k in region_keys
            if k.category != key.category and service_from_display_name(k.service) == key.service
        }
    )
    footer = f"{source_name(key.source)} · {period_label(key.granularity, chart.period)}"
    if wanted_date is not None and chart.period != wanted_date:
        footer += f" (latest on or before {wanted_date.isoformat()})"
    if lists_here:
        footer += f" · also: {', '.join(lists_here[:6])}"
    if wanted_date is None:
        freshness = freshness_note(
            key.granularity, chart.period, ctx.today(settings), await ctx.last_poll(key.source)
        )
        footer += f" · {freshness}"
    returning = await _returning_titles(ctx, chart, previous) if previous else set()
    return Reply(
        title=f"{region_flag(region)} Top 10 — {chart_label(key)}",
        lines=format_chart(chart, previous, returning),
        footer=footer,
    )


async def _pick_chart(
    ctx: CommandContext, keys: Sequence[ChartKey], on_or_before: date | None
) -> Chart | None:
    """The chart /top10 shows: Netflix first, the broadest list, then the freshest source."""

    def preference(key: ChartKey) -> tuple[bool, int, int]:
        base_rank, qualifier_rank, _ = _category_rank(key.category)
        return (service_from_display_name(key.service) != "netflix", base_rank, qualifier_rank)

    best = min(preference(k) for k in keys)
    candidates = [k for k in keys if preference(k) == best]
    charts = [await ctx.storage.latest_chart(k, on_or_before=on_or_before) for k in candidates]
    found = [c for c in charts if c is not None]
    if not found:
        # The preferred lists have nothing that old: fall back to any list of the selection.
        others = [k for k in keys if k not in candidates]
        for key in sorted(others, key=preference):
            chart = await ctx.storage.latest_chart(key, on_or_before=on_or_before)
            if chart is not None:
                return chart
        return None
    return max(found, key=lambda c: (c.period, c.key.granularity == "daily"))


async def _previous_chart(ctx: CommandContext, chart: Chart) -> Chart | None:
    granularity = chart.key.granularity
    if granularity not in ("daily", "weekly"):
        return None
    step = chart_step(granularity)
    previous = await ctx.storage.latest_chart(chart.key, on_or_before=chart.period - step)
    # Movement against a chart from long ago would mislead; the diff engine bridges 2 gaps.
    if previous is None or chart.period - previous.period > step * 3:
        return None
    return previous


HANDLERS: Mapping[str, Handler] = {"top10": top10}
