"""/status: how fresh the stored charts of each source are, and what was rejected lately."""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from datetime import date

from bot.commands.context import CommandContext, Handler
from bot.commands.formatting import ALLOWED_AGE_DAYS, plural, source_name
from bot.commands.registry import Caller
from bot.commands.reply import Field, Reply
from bot.models import ChartKey
from bot.render import chart_label, period_label

RECENT_REJECTIONS = 5


async def _freshness_lines(ctx: CommandContext, today: date) -> list[str]:
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
        age_text = "today" if age <= 0 else f"{plural(age, 'day')} ago"
        lines.append(
            f"{mark} {source_name(source)} · {granularity}: latest "
            f"{period_label(granularity, latest)} ({age_text}); "
            f"{plural(regions, 'region')}, {plural(services, 'service')}"
        )
    return lines or ["No chart stored yet."]


async def status(ctx: CommandContext, args: Mapping[str, str], caller: Caller) -> Reply:
    settings = await ctx.subscriptions.get_settings(caller.destination)
    lines = await _freshness_lines(ctx, ctx.today(settings))
    fields: list[Field] = []
    rejections = await ctx.storage.recent_rejections(limit=RECENT_REJECTIONS)
    zone = zoneinfo.ZoneInfo(settings.timezone)
    if rejections:
        fields.append(
            Field(
                "Recently rejected",
                "\n".join(
                    f"{r.rejected_at.astimezone(zone):%Y-%m-%d %H:%M}"
                    f" {chart_label(r.key)} {r.period.isoformat()}: {r.reason[:120]}"
                    for r in rejections
                ),
            )
        )
    return Reply(
        title="Data freshness",
        lines=tuple(lines),
        fields=tuple(fields),
        footer=f"Times in {settings.timezone} · /settings changes the time zone",
    )


HANDLERS: Mapping[str, Handler] = {"status": status}
