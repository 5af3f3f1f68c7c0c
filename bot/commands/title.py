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
    plural,
    record_value,
    source_name,
    streak_text,
)
from bot.commands.lookup import Show
from bot.commands.registry import Caller
from bot.commands.reply import Button, Field, Reply, error
from bot.diff import ChartState
from bot.events import Record
from bot.models import WORLD, ChartKey
from bot.ports import Family, RankTally
from bot.render import (
    RECORD_NAMES,
    big_number,
    chart_label,
    display_title,
    period_label,
    service_name,
)
from bot.sources.regions import region_flag
from bot.subscriptions import title_ref


async def title(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    show = await ctx.titles.resolve_show(args["name"])
    # The show's whole history as a few hundred tallies (one per title, chart and rank), in the
    # show's order of titles: ties below go to the first title, as the show lists them.
    order = {title_id: index for index, title_id in enumerate(show.title_ids)}
    tallies = sorted(
        await ctx.storage.rank_tallies(show.title_ids),
        key=lambda t: (order[t.title_id], t.key, t.rank),
    )
    if not tallies:
        return error(f"No chart history for {show.name}")
    # The engine's state of every chart the show entered, read once for every part of the answer.
    states = await ctx.chart_states({t.key for t in tallies})
    placings = await _current_placings(show, states)
    fields: list[Field] = []
    worldwide = _worldwide_lines(show, tallies, placings, states)
    if worldwide:
        fields.append(Field("Worldwide", cap_lines(worldwide)))
    fields.extend(_now_fields(placings, tallies))
    fields.append(_best_rank_field(tallies))
    records = await _records_held(ctx, set(show.title_ids), states)
    if records:
        fields.append(Field("Records held", cap_lines(records)))
    seasons = sorted({display_title(h.title, h.season) for h in show.hits})
    sources = sorted({source_name(t.key.source) for t in tallies})
    footer = f"Sources: {', '.join(sources)}"
    if len(seasons) > 1:
        footer = f"{len(seasons)} seasons/versions · " + footer
    newest = max((t for t in tallies if t.key.granularity != "alltime"), key=_by_last, default=None)
    if newest is not None:
        settings = await ctx.subscriptions.get_settings(caller.destination)
        last_poll = await ctx.last_poll(newest.key.source)
        footer += " · " + freshness_note(
            newest.key.granularity, newest.last, ctx.today(settings), last_poll
        )
    return Reply(
        title=show.name,
        fields=tuple(fields),
        footer=footer,
        buttons=(Button("🔔 Subscribe", "subscribe", (("title", title_ref(show.norm)),)),),
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

    def line(self, show_name: str) -> str:
        label = f"{region_flag(self.key.region)} {chart_label(self.key)}"
        if self.version != show_name:
            label += f" — {self.version}"
        details = []
        if self.weeks_at_one is not None:
            details.append(f"{streak_text(self.key.granularity, self.weeks_at_one)} at #1")
        if self.weeks_in is not None:
            details.append(f"{streak_text(self.key.granularity, self.weeks_in)} in the Top 10")
        detail = f" ({' · '.join(details)})" if details else ""
        when = f" — {period_label(self.key.granularity, self.period)}" if self.behind else ""
        return f"{label}: #{self.rank}{detail}{when}"


async def _current_placings(show: Show, states: Mapping[ChartKey, ChartState]) -> list[Placing]:
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
    placings.sort(key=lambda p: (p.key.region != WORLD, p.rank, chart_label(p.key)))
    return placings


def _worldwide_lines(
    show: Show,
    tallies: Sequence[RankTally],
    placings: Sequence[Placing],
    states: Mapping[ChartKey, ChartState],
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
            f"#1 for {streak_text(granularity, at_one)}" if at_one else f"best #{best}",
            f"{streak_text(granularity, periods)} in the Top 10",
        ]
        state = states.get(key)
        hours = state.cumulative_hours.get(tid) if state is not None else None
        if hours:
            facts.append(f"{big_number(hours)} hours")
        if (key, tid) in now:
            facts.append(f"now #{now[(key, tid)]}")
        list_name = f"{service_name(key.service)} {key.category}"
        version = versions.get(tid, show.name)
        rows.append((at_one, hours or 0, f"{version} — {list_name}: {', '.join(facts)}"))
    rows.sort(key=lambda row: (-row[0], -row[1], row[2]))
    return [line for *_, line in rows]


def _now_fields(placings: Sequence[Placing], tallies: Sequence[RankTally]) -> list[Field]:
    """'Now in the Top 10' (every chart's latest period) and 'Countries at #1'."""
    if not placings:
        last_seen = max(tallies, key=_by_last)
        return [
            Field(
                "Now in the Top 10",
                f"Not in a current chart; last seen in {chart_label(last_seen.key)}"
                f" ({period_label(last_seen.key.granularity, last_seen.last)}).",
            )
        ]
    names = {p.version for p in placings}
    show_name = names.pop() if len(names) == 1 else ""
    heading = "Now in the Top 10"
    periods = {(p.key.granularity, p.period) for p in placings}
    if len(periods) == 1 and placings[0].behind:
        # Every line is of one older period: say it once, in the heading.
        heading += f" (latest charts: {period_label(*periods.pop())})"
        placings = [replace(p, behind=False) for p in placings]
    fields = [Field(heading, cap_lines([p.line(show_name) for p in placings]))]
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
                "Countries at #1",
                "\n".join(
                    f"{family_label(family)}: {plural(count, 'country', 'countries')}"
                    f" of {in_top[family]} in the Top 10"
                    for family, count in sorted(at_one.items(), key=lambda item: -item[1])
                ),
            )
        )
    return fields


def _best_rank_field(tallies: Sequence[RankTally]) -> Field:
    best_rank = min(t.rank for t in tallies)
    first_best = min((t for t in tallies if t.rank == best_rank), key=_by_first)
    best_places = {t.key for t in tallies if t.rank == best_rank}
    return Field(
        "Best rank",
        f"#{best_rank} — first in {chart_label(first_best.key)}, "
        f"{period_label(first_best.key.granularity, first_best.first)}"
        + (f" (in {len(best_places)} charts)" if len(best_places) > 1 else ""),
    )


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
    held: list[tuple[int, int, int, str]] = []
    families: set[Family] = set()
    for key, state in states.items():
        if key.region != WORLD:
            families.add(key.family())
        for record, mark in state.records.items():
            if mark.title_id in title_ids:
                # "Since" says over how much history the record stands: a few weeks of a chart
                # is no record to brag about, and the reader can tell.
                line = (
                    f"{RECORD_NAMES[record]} — {chart_label(key)}: "
                    f"{record_value(record, mark.value, key.granularity)}"
                    f" (since {state.first_period:%B %Y})"
                )
                scope = 0 if key.region == WORLD else 2
                held.append((scope, _RECORD_ORDER.index(record), -mark.value, line))
    for family in sorted(families):
        family_mark = await ctx.family_record(family)
        if family_mark is not None and family_mark.title_id in title_ids:
            record, granularity = Record.MOST_REGIONS_AT_NUMBER_ONE, family[3]
            line = (
                f"{RECORD_NAMES[record]} — {family_label(family)}: "
                f"{record_value(record, family_mark.value, granularity)}"
            )
            held.append((1, _RECORD_ORDER.index(record), -family_mark.value, line))
    held.sort()
    return [line for *_, line in held]


HANDLERS: Mapping[str, Handler] = {"title": title}
