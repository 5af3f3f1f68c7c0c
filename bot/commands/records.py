"""/records: the standing records of the worldwide charts and of #1 in most countries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from bot.commands.context import CommandContext, Handler
from bot.commands.formatting import family_label, freshness_note, record_value
from bot.commands.registry import Caller
from bot.commands.reply import Field, Reply
from bot.commands.resolvers import resolve_category_argument
from bot.diff import RecordMark
from bot.events import Record
from bot.i18n import Translator
from bot.models import WORLD, ChartKey
from bot.render import category_label, chart_label, display_title, period_label, record_name
from bot.subscriptions import category_matches

# Discord shows at most 25 fields in one embed.
MAX_RECORD_FIELDS = 25


def _record_line(record: Record, mark: RecordMark, granularity: str, tr: Translator) -> str:
    return (
        f"{record_name(record, tr)}: {display_title(mark.title, mark.season)} — "
        f"{record_value(record, mark.value, granularity, tr)} "
        f"({period_label(granularity, mark.period, tr)})"
    )


async def records(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    tr = ctx.tr
    pattern = resolve_category_argument(args["category"], tr) if "category" in args else None
    keys = [
        k
        for k in await ctx.storage.chart_keys()
        if k.granularity != "alltime" and (pattern is None or category_matches(pattern, k.category))
    ]
    fields: list[Field] = []
    newest: tuple[date, ChartKey] | None = None  # the freshest chart the records stand on
    for key in sorted(k for k in keys if k.region == WORLD):
        state = await ctx.chart_state(key)
        if state is None:
            continue
        if newest is None or state.last_period > newest[0]:
            newest = (state.last_period, key)
        lines = [
            _record_line(record, mark, key.granularity, tr)
            for record, mark in sorted(state.records.items())
        ]
        if lines:
            fields.append(Field(chart_label(key, tr), "\n".join(lines)))
    for family in sorted({k.family() for k in keys if k.region != WORLD}):
        family_mark = await ctx.family_record(family)
        if family_mark is None:
            continue
        fields.append(
            Field(
                tr._("{list} · every country", list=family_label(family, tr)),
                _record_line(Record.MOST_REGIONS_AT_NUMBER_ONE, family_mark, family[3], tr),
            )
        )
    if not fields:
        return Reply(
            title=tr._("No records yet"),
            lines=(
                tr._(
                    "Records are tracked once charts have some history; "
                    "import past weeks (top10bot import) to see them."
                ),
            ),
        )
    footer = tr._("Worldwide charts and #1-in-most-countries · /title shows a title's records")
    if newest is not None:
        period, key = newest
        settings = await ctx.subscriptions.get_settings(caller.destination)
        last_poll = await ctx.last_poll(key.source)
        today = ctx.today(settings)
        footer += " · " + freshness_note(key.granularity, period, today, last_poll, tr)
    return Reply(
        title=tr._("Records — {list}", list=category_label(pattern, tr))
        if pattern
        else tr._("Records"),
        fields=tuple(fields[:MAX_RECORD_FIELDS]),
        footer=footer,
    )


HANDLERS: Mapping[str, Handler] = {"records": records}
