"""/status: how fresh the stored charts of each source are, and what was rejected lately."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import date

from bot.commands.context import CommandContext, Handler
from bot.commands.formatting import ALLOWED_AGE_DAYS
from bot.commands.registry import Caller
from bot.commands.reply import Field, Reply
from bot.i18n import N_, Translator
from bot.models import ChartKey
from bot.render import chart_label, period_label, source_name

RECENT_REJECTIONS = 5
GRANULARITY_NAMES = {"daily": N_("daily"), "weekly": N_("weekly"), "alltime": N_("all-time")}


async def _freshness_lines(ctx: CommandContext, today: date, tr: Translator) -> list[str]:
    groups: dict[tuple[str, str], list[ChartKey]] = {}
    for key in await ctx.storage.chart_keys():
        groups.setdefault((key.source, key.granularity), []).append(key)
    lines: list[str] = []
    for (source, granularity), members in sorted(groups.items()):
        latest: date | None = None
        for family in {k.family() for k in members}:
            period = await ctx.storage.latest_period(family)
            if period is not None and (latest is None or period > latest):
                latest = period
        if latest is None:  # pragma: no cover - chart_keys lists keys with charts
            continue
        regions = len({k.region for k in members})
        services = len({k.service for k in members})
        age = (today - latest).days
        allowed = ALLOWED_AGE_DAYS.get(granularity)
        mark = "✅" if allowed is None or age <= allowed else "⚠️"
        age_text = tr._("today") if age <= 0 else tr.n_("{n} day ago", "{n} days ago", age)
        lines.append(
            tr._(
                "{mark} {source} · {granularity}: latest {period} ({age}); {regions}, {services}",
                mark=mark,
                source=source_name(source, tr),
                granularity=tr.gettext(GRANULARITY_NAMES.get(granularity, granularity)),
                period=period_label(granularity, latest, tr),
                age=age_text,
                regions=tr.n_("{n} region", "{n} regions", regions),
                services=tr.n_("{n} service", "{n} services", services),
            )
        )
    return lines or [tr._("No chart stored yet.")]


async def status(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    tr = ctx.tr
    settings = await ctx.subscriptions.get_settings(caller.destination)
    lines = await _freshness_lines(ctx, ctx.today(settings), tr)
    fields: list[Field] = []
    rejections = await ctx.storage.recent_rejections(limit=RECENT_REJECTIONS)
    zone = zoneinfo.ZoneInfo(settings.timezone)
    if rejections:
        fields.append(
            Field(
                tr._("Recently rejected"),
                # The gate's reasons stay in English: they are the operator's diagnostics.
                "\n".join(
                    f"{tr.moment(r.rejected_at.astimezone(zone))}"
                    f" {chart_label(r.key, tr)} {tr.date(r.period)}: {r.reason[:120]}"
                    for r in rejections
                ),
            )
        )
    return Reply(
        title=tr._("Data freshness"),
        lines=tuple(lines),
        fields=tuple(fields),
        footer=tr._("Times in {zone} · /settings changes the time zone", zone=settings.timezone),
    )


HANDLERS: Mapping[str, Handler] = {"status": status}
