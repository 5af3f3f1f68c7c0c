"""/title: where a show ranks now, its streaks, its best rank and the records it holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from bot.commands.context import CommandContext, Handler
from bot.commands.formatting import (
    cap_lines,
    family_label,
    freshness_note,
    periods_between,
    record_value,
    streak_text,
)
from bot.commands.lookup import Show
from bot.commands.registry import Caller
from bot.commands.reply import Button, Field, Reply, error
from bot.diff import ChartState
from bot.events import Record
from bot.i18n import N_, Translator
from bot.models import WORLD, ChartKey
from bot.ports import Family, RankTally
from bot.render import (
    category_label,
    chart_label,
    display_title,
    measure_text,
    period_label,
    record_name,
    service_name,
    source_name,
)
from bot.sources.regions import region_flag
from bot.subscriptions import title_ref

SUBSCRIBE_LABEL = N_("🔔 Subscribe")


async def title(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    tr = ctx.tr
    show = await ctx.titles.resolve_show(args["name"], tr)
    # The show's whole history as a few hundred tallies (one per title, chart and rank), in the
    # show's order of titles: ties below go to the first title, as the show lists them.
    order = {title_id: index for index, title_id in enumerate(show.title_ids)}
    tallies = sorted(
        await ctx.storage.rank_tallies(show.title_ids),
        key=lambda t: (order[t.title_id], t.key, t.rank),
    )
    if not tallies:
        return error(tr._("No chart history for {title}", title=show.name))
    # The engine's state of every chart the show entered, read once for every part of the answer.
    states = await ctx.chart_states({t.key for t in tallies})
    placings = await _current_placings(show, states, tr)
    fields: list[Field] = []
    worldwide = _worldwide_lines(show, tallies, placings, states, tr)
    if worldwide:
        fields.append(Field(tr._("Worldwide"), cap_lines(worldwide, tr)))
    fields.extend(_now_fields(placings, tallies, tr))
    fields.append(_best_rank_field(tallies, tr))
    records = await _records_held(ctx, set(show.title_ids), states)
    if records:
        fields.append(Field(tr._("Records held"), cap_lines(records, tr)))
    seasons = sorted({display_title(h.title, h.season) for h in show.hits})
    sources = sorted({source_name(t.key.source, tr) for t in tallies})
    footer = tr._("Sources: {sources}", sources=", ".join(sources))
    if len(seasons) > 1:
        versions = tr.n_("{n} season/version", "{n} seasons/versions", len(seasons))
        footer = f"{versions} · {footer}"
    newest = max((t for t in tallies if t.key.granularity != "alltime"), key=_by_last, default=None)
    if newest is not None:
        settings = await ctx.subscriptions.get_settings(caller.destination)
        last_poll = await ctx.last_poll(newest.key.source)
        footer += " · " + freshness_note(
            newest.key.granularity, newest.last, ctx.today(settings), last_poll, tr
        )
    subscribe = Button(tr.gettext(SUBSCRIBE_LABEL), "subscribe", (("title", title_ref(show.norm)),))
    picture = None
    if ctx.pictures is not None:
        # The picture plots the show's rank period by period: drawn (and its appearances read)
        # once per show and latest period.
        picture = await ctx.pictures.show_picture(show.name, show.norm, tallies, tr)
    return Reply(
        title=show.name, fields=tuple(fields), footer=footer, buttons=(subscribe,), picture=picture
    )


def _by_last(tally: RankTally) -> date:
    return tally.last


def _by_first(tally: RankTally) -> date:
    return tally.first


@dataclass(frozen=True, slots=True)
class Placing:
    """A show's place in the latest period of one chart."""

    key: ChartKey
    title_id: str
    rank: int
    version: str  # the season or version that charts
    weeks_in: int | None  # the current unbroken run in this chart, when the engine knows it
    weeks_at_one: int | None
    period: date
    behind: bool = False  # older than the newest chart of its kind: the line says its period

    def line(self, show_name: str, tr: Translator) -> str:
        label = f"{region_flag(self.key.region)} {chart_label(self.key, tr)}"
        if self.version != show_name:
            label += f" — {self.version}"
        granularity = self.key.granularity
        details = []
        if self.weeks_at_one is not None:
            length = streak_text(granularity, self.weeks_at_one, tr)
            details.append(tr._("{length} at #1", length=length))
        if self.weeks_in is not None:
            length = streak_text(granularity, self.weeks_in, tr)
            details.append(tr._("{length} in the Top 10", length=length))
        detail = f" ({' · '.join(details)})" if details else ""
        when = f" — {period_label(granularity, self.period, tr)}" if self.behind else ""
        return tr._("{chart}: #{rank}", chart=label, rank=self.rank) + detail + when


async def _current_placings(
    show: Show, states: Mapping[ChartKey, ChartState], tr: Translator
) -> list[Placing]:
    """Where the show stands in the latest period of every chart it ever entered: the same
    chart /top10 shows, however old that chart is (the engine's state is that chart)."""
    newest: dict[tuple[str, str], date] = {}
    for key, state in states.items():
        kind = (key.source, key.granularity)
        newest[kind] = max(newest.get(kind, state.last_period), state.last_period)
    placings: list[Placing] = []
    for key, state in states.items():
        if key.granularity == "alltime":
            continue
        behind = state.last_period < newest[(key.source, key.granularity)]
        for title_id in show.title_ids:
            held = state.entries.get(title_id)
            if held is None:
                continue
            weeks_at_one = None
            if held.rank == 1 and state.number_one_since is not None:
                weeks_at_one = periods_between(
                    key.granularity, state.number_one_since, state.last_period
                )
            weeks_in = periods_between(key.granularity, held.since, state.last_period)
            version = display_title(held.title, held.season)
            placings.append(
                Placing(
                    key,
                    title_id,
                    held.rank,
                    version,
                    weeks_in,
                    weeks_at_one,
                    state.last_period,
                    behind,
                )
            )
    # Worldwide first, then by rank.
    placings.sort(key=lambda p: (p.key.region != WORLD, p.rank, chart_label(p.key, tr)))
    return placings


def _worldwide_lines(
    show: Show,
    tallies: Sequence[RankTally],
    placings: Sequence[Placing],
    states: Mapping[ChartKey, ChartState],
    tr: Translator,
) -> list[str]:
    """One line per season (or version) in each worldwide chart: weeks at #1, weeks in the
    Top 10, hours summed over them, and where it stands now."""
    now = {(p.key, p.title_id): p.rank for p in placings}
    runs: dict[tuple[ChartKey, str], list[RankTally]] = {}
    for tally in tallies:
        if tally.key.region == WORLD and tally.key.granularity != "alltime":
            runs.setdefault((tally.key, tally.title_id), []).append(tally)
    versions = {hit.title_id: display_title(hit.title, hit.season) for hit in show.hits}
    rows: list[tuple[int, int, str]] = []
    for (key, tid), ranks in runs.items():
        granularity = key.granularity
        at_one = sum(t.periods for t in ranks if t.rank == 1)
        best = min(t.rank for t in ranks)
        periods = sum(t.periods for t in ranks)
        facts = [
            tr._("#1 for {length}", length=streak_text(granularity, at_one, tr))
            if at_one
            else tr._("best #{rank}", rank=best),
            tr._("{length} in the Top 10", length=streak_text(granularity, periods, tr)),
        ]
        state = states.get(key)
        hours = state.cumulative_hours.get(tid) if state is not None else None
        if hours:
            facts.append(measure_text(hours, "hours", tr))
        if (key, tid) in now:
            facts.append(tr._("now #{rank}", rank=now[(key, tid)]))
        list_name = f"{service_name(key.service)} {category_label(key.category, tr)}"
        version = versions.get(tid, show.name)
        rows.append((at_one, hours or 0, f"{version} — {list_name}: {', '.join(facts)}"))
    rows.sort(key=lambda row: (-row[0], -row[1], row[2]))
    return [line for *_, line in rows]


def _now_fields(
    placings: Sequence[Placing], tallies: Sequence[RankTally], tr: Translator
) -> list[Field]:
    """'Now in the Top 10' (every chart's latest period) and 'Countries at #1'."""
    if not placings:
        last_seen = max(tallies, key=_by_last)
        return [
            Field(
                tr._("Now in the Top 10"),
                tr._(
                    "Not in a current chart; last seen in {chart} ({period}).",
                    chart=chart_label(last_seen.key, tr),
                    period=period_label(last_seen.key.granularity, last_seen.last, tr),
                ),
            )
        ]
    names = {p.version for p in placings}
    show_name = names.pop() if len(names) == 1 else ""
    heading = tr._("Now in the Top 10")
    periods = {(p.key.granularity, p.period) for p in placings}
    if len(periods) == 1 and placings[0].behind:
        # Every line is of one older period: say it once, in the heading.
        granularity, period = periods.pop()
        heading = tr._(
            "Now in the Top 10 (latest charts: {period})",
            period=period_label(granularity, period, tr),
        )
        placings = [replace(p, behind=False) for p in placings]
    fields = [Field(heading, cap_lines([p.line(show_name, tr) for p in placings], tr))]
    at_one: dict[Family, int] = {}
    in_top: dict[Family, int] = {}
    for placing in placings:
        if placing.key.region == WORLD:
            continue
        family = placing.key.family()
        in_top[family] = in_top.get(family, 0) + 1
        if placing.rank == 1:
            at_one[family] = at_one.get(family, 0) + 1
    if at_one:
        fields.append(
            Field(
                tr._("Countries at #1"),
                "\n".join(
                    tr.n_(
                        "{list}: {n} country of {total} in the Top 10",
                        "{list}: {n} countries of {total} in the Top 10",
                        count,
                        list=family_label(family, tr),
                        total=in_top[family],
                    )
                    for family, count in sorted(at_one.items(), key=lambda item: -item[1])
                ),
            )
        )
    return fields


def _best_rank_field(tallies: Sequence[RankTally], tr: Translator) -> Field:
    best_rank = min(t.rank for t in tallies)
    first_best = min((t for t in tallies if t.rank == best_rank), key=_by_first)
    best_places = {t.key for t in tallies if t.rank == best_rank}
    text = tr._(
        "#{rank} — first in {chart}, {period}",
        rank=best_rank,
        chart=chart_label(first_best.key, tr),
        period=period_label(first_best.key.granularity, first_best.first, tr),
    )
    if len(best_places) > 1:
        text += tr._(" (in {count} charts)", count=len(best_places))
    return Field(tr._("Best rank"), text)


# Records by importance: which kind of record, before how big it is.
_RECORD_ORDER = (
    Record.MOST_REGIONS_AT_NUMBER_ONE,
    Record.LONGEST_NUMBER_ONE_RUN,
    Record.MOST_WEEKLY_HOURS,
    Record.MOST_WEEKLY_VIEWS,
)


async def _records_held(
    ctx: CommandContext, title_ids: set[str], states: Mapping[ChartKey, ChartState]
) -> list[str]:
    """The records the show holds, most important first: worldwide charts, then across
    countries, then single countries, each by kind of record and then by size."""
    tr = ctx.tr
    held: list[tuple[int, int, int, str]] = []
    families: set[Family] = set()
    for key, state in states.items():
        if key.region != WORLD:
            families.add(key.family())
        for record, mark in state.records.items():
            if mark.title_id in title_ids:
                # "Since" says over how much history the record stands: a few weeks of a chart
                # is no record to brag about, and the reader can tell.
                line = tr._(
                    "{record} — {chart}: {value} (since {month})",
                    record=record_name(record, tr),
                    chart=chart_label(key, tr),
                    value=record_value(record, mark.value, key.granularity, tr),
                    month=tr.month(state.first_period),
                )
                scope = 0 if key.region == WORLD else 2
                held.append((scope, _RECORD_ORDER.index(record), -mark.value, line))
    for family in sorted(families):
        family_mark = await ctx.family_record(family)
        if family_mark is not None and family_mark.title_id in title_ids:
            record, granularity = Record.MOST_REGIONS_AT_NUMBER_ONE, family[3]
            line = tr._(
                "{record} — {chart}: {value}",
                record=record_name(record, tr),
                chart=family_label(family, tr),
                value=record_value(record, family_mark.value, granularity, tr),
            )
            held.append((1, _RECORD_ORDER.index(record), -family_mark.value, line))
    held.sort()
    return [line for *_, line in held]


HANDLERS: Mapping[str, Handler] = {"title": title}
