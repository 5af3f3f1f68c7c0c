"""Choices for what a user has typed so far (Discord autocomplete), per argument kind."""

from __future__ import annotations

from bot.commands.context import CommandContext
from bot.commands.formatting import subscription_line
from bot.commands.lookup import fuzzy
from bot.commands.registry import ArgumentKind, Caller, Choice
from bot.commands.resolvers import zone_names
from bot.i18n import LANGUAGES
from bot.models import WORLD
from bot.render import region_label
from bot.sources.regions import region_flag, resolve_region, suggest_regions
from bot.subscriptions import event_type_words

# Discord shows at most 25 autocomplete choices, and a choice's name and value are ≤ 100 chars.
MAX_CHOICES = 25
MAX_CHOICE_TEXT = 100
# Offered for an empty time zone box: the zones most people start from.
DEFAULT_ZONES = ("UTC", "Europe/London", "America/New_York")


async def complete(
    ctx: CommandContext, kind: ArgumentKind, current: str, caller: Caller
) -> list[Choice]:
    """At most MAX_CHOICES choices for an argument of `kind`; [] for kinds without any."""
    if kind is ArgumentKind.TITLE:
        return await _complete_title(ctx, current)
    if kind is ArgumentKind.REGION:
        return await _complete_region(ctx, current)
    if kind is ArgumentKind.LANGUAGE:
        return [Choice(name, code) for code, name in LANGUAGES.items()]
    if kind is ArgumentKind.SUBSCRIPTION:
        return await _complete_subscription(ctx, current, caller)
    if kind is ArgumentKind.TIMEZONE:
        if not current.strip():
            return [Choice(z, z) for z in DEFAULT_ZONES]
        zones = sorted(zone_names().values())
        return [Choice(z, z) for z in fuzzy(current, zones, MAX_CHOICES, cutoff=50)]
    if kind is ArgumentKind.EVENT_TYPES:
        return _complete_event_types(current)
    return []


async def _complete_title(ctx: CommandContext, current: str) -> list[Choice]:
    if not current.strip():
        recent = await ctx.storage.recent_events(limit=60)
        names = list(dict.fromkeys(e.title for e in recent))
    else:
        names = await ctx.titles.closest_names(current, MAX_CHOICES * 2)
    choices = list(dict.fromkeys(n[:MAX_CHOICE_TEXT] for n in names))
    return [Choice(n, n) for n in choices[:MAX_CHOICES]]


async def _complete_region(ctx: CommandContext, current: str) -> list[Choice]:
    if current.strip():
        found = suggest_regions(current, MAX_CHOICES)
        exact = resolve_region(current)
        if exact is not None and exact not in [code for code, _ in found]:
            found.insert(0, (exact, region_label(exact, ctx.tr)))
        found = [(code, region_label(code, ctx.tr)) for code, _ in found]
    else:
        regions = sorted({k.region for k in await ctx.storage.chart_keys()})
        labels = {code: region_label(code, ctx.tr) for code in regions}
        ordered = sorted(regions, key=lambda code: (code != WORLD, labels[code]))
        found = [(code, labels[code]) for code in ordered]
    return [
        Choice(f"{region_flag(code)} {name}"[:MAX_CHOICE_TEXT], code)
        for code, name in found[:MAX_CHOICES]
    ]


async def _complete_subscription(ctx: CommandContext, current: str, caller: Caller) -> list[Choice]:
    subscriptions = await ctx.subscriptions.subscriptions_of(caller.destination)
    choices = [Choice(ctx.tr._("all — every subscription here"), "all")]
    for sub in subscriptions:
        choices.append(Choice(subscription_line(sub, ctx.tr)[:MAX_CHOICE_TEXT], str(sub.id)))
    wanted = current.strip().lstrip("#").casefold()
    return [c for c in choices if wanted in c.label.casefold()][:MAX_CHOICES]


def _complete_event_types(current: str) -> list[Choice]:
    head, _, last = current.rpartition(",")
    prefix = f"{head}," if head else ""
    words = ["all", *event_type_words()]
    hits = [w for w in words if w.startswith(last.strip().casefold())]
    return [
        Choice((prefix + w)[:MAX_CHOICE_TEXT], (prefix + w)[:MAX_CHOICE_TEXT])
        for w in hits[:MAX_CHOICES]
    ]
