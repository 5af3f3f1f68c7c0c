"""/title: where a show ranks now, its streaks, its best rank and the records it holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

from bot.commands.context import CommandContext, Handler
from bot.commands.formatting import (
    cap_lines,
    chart_step,
    family_label,
    periods_between,
    plural,
    record_value,
    source_name,
    streak_text,
)
from bot.commands.lookup import Show
from bot.commands.registry import Caller
from bot.commands.reply import Button, Field, Reply, error
from bot.events import Record
from bot.models import WORLD, ChartKey
from bot.ports import Family, RankPoint
from bot.render import RECORD_NAMES, chart_label, display_title, period_label
from bot.sources.regions import region_flag
from bot.subscriptions import title_ref

# (title_id, one appearance of it in a chart)
Appearance = tuple[str, RankPoint]


async def title(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    show = await ctx.titles.resolve_show(args["name"])
    history = {tid: await ctx.storage.title_history(tid) for tid in show.title_ids}
    points = [(tid, p) for tid, pts in history.items() for p in pts]
    if not points:
        return error(f"No chart history for {show.name}")
    fields = await _current_fields(ctx, show, points)
    best_rank = min(p.rank for _, p in points)
    first_best = min((p for _, p in points if p.rank == best_rank), key=lambda p: p.period)
    best_places = {p.key for _, p in points if p.rank == best_rank}
    fields.append(
        Field(
            "Best rank",
            f"#{best_rank} — first in {chart_label(first_best.key)}, "
            f"{period_label(first_best.key.granularity, first_best.period)}"
            + (f" (in {len(best_places)} charts)" if len(best_places) > 1 else ""),
        )
    )
    records = await _records_held(ctx, set(show.title_ids), {p.key for _, p in points})
    if records:
        fields.append(Field("Records held", cap_lines(records)))
    seasons = sorted({display_title(h.title, h.season) for h in show.hits})
    sources = sorted({source_name(p.key.source) for _, p in points})
    footer = f"Sources: {', '.join(sources)}"
    if len(seasons) > 1:
        footer = f"{len(seasons)} seasons/versions · " + footer
    return Reply(
        title=show.name,
        fields=tuple(fields),
        footer=footer,
        buttons=(Button("🔔 Subscribe", "subscribe", (("title", title_ref(show.norm)),)),),
    )


async def _current_fields(
    ctx: CommandContext, show: Show, points: Sequence[Appearance]
) -> list[Field]:
    """'Now in the Top 10' (rank and streaks per chart) and 'Countries at #1'."""
    # The last appearance per chart key; only keys seen lately can be current.
    last_seen: dict[ChartKey, tuple[str, date]] = {}
    for tid, point in points:
        seen = last_seen.get(point.key)
        if seen is None or point.period > seen[1]:
            last_seen[point.key] = (tid, point.period)
    newest = {
        g: max(p.period for _, p in points if p.key.granularity == g)
        for g in {p.key.granularity for _, p in points}
    }
    now_lines: list[tuple[int, str, str]] = []
    at_one: dict[Family, int] = {}
    for key, (tid, period) in last_seen.items():
        if key.granularity == "alltime":
            continue
        if newest[key.granularity] - period > chart_step(key.granularity) * 3:
            continue
        state = await ctx.chart_state(key)
        if state is None:
            continue
        held = state.entries.get(tid)
        if held is None or state.last_period != period:
            continue
        run = periods_between(key.granularity, held.since, state.last_period)
        detail = f"{streak_text(key.granularity, run)} in the Top 10"
        if held.rank == 1 and state.number_one_since is not None:
            top_run = periods_between(key.granularity, state.number_one_since, period)
            detail = f"{streak_text(key.granularity, top_run)} at #1 · " + detail
            if key.region != WORLD:
                family = key.family()
                at_one[family] = at_one.get(family, 0) + 1
        label = f"{region_flag(key.region)} {chart_label(key)}"
        version = display_title(held.title, held.season)
        if version != show.name:
            label += f" — {version}"
        now_lines.append((held.rank, label, f"{label}: #{held.rank} ({detail})"))
    now_lines.sort(key=lambda item: (item[0], item[1]))
    fields: list[Field] = []
    if now_lines:
        fields.append(Field("Now in the Top 10", cap_lines([line for *_, line in now_lines])))
    else:
        _, last_point = max(points, key=lambda item: item[1].period)
        fields.append(
            Field(
                "Now in the Top 10",
                f"Not in a current chart; last seen in {chart_label(last_point.key)}"
                f" ({period_label(last_point.key.granularity, last_point.period)}).",
            )
        )
    if at_one:
        fields.append(
            Field(
                "Countries at #1",
                "\n".join(
                    f"{family_label(family)}: {plural(count, 'country', 'countries')}"
                    for family, count in sorted(at_one.items(), key=lambda item: -item[1])
                ),
            )
        )
    return fields


async def _records_held(ctx: CommandContext, title_ids: set[str], keys: set[ChartKey]) -> list[str]:
    lines: list[str] = []
    families: set[Family] = set()
    for key in sorted(keys):
        if key.region != WORLD:
            families.add(key.family())
        state = await ctx.chart_state(key)
        if state is None:
            continue
        for record, mark in state.records.items():
            if mark.title_id in title_ids:
                lines.append(
                    f"{RECORD_NAMES[record]} — {chart_label(key)}: "
                    f"{record_value(record, mark.value, key.granularity)}"
                )
    for family in sorted(families):
        family_mark = await ctx.family_record(family)
        if family_mark is not None and family_mark.title_id in title_ids:
            record, granularity = Record.MOST_REGIONS_AT_NUMBER_ONE, family[3]
            lines.append(
                f"{RECORD_NAMES[record]} — {family_label(family)}: "
                f"{record_value(record, family_mark.value, granularity)}"
            )
    return lines


HANDLERS: Mapping[str, Handler] = {"title": title}
