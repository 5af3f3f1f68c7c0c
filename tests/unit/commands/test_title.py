"""/title: ranks, streaks, records, and the button that subscribes to the show."""

from __future__ import annotations

from bot.commands import CommandService, decode_button
from bot.subscriptions import SubscriptionSpec
from tests.unit.commands.command_helpers import GROUP, member, run


async def test_title_tells_ranks_streaks_and_records(service: CommandService) -> None:
    reply = await run(service, "/title squid gme")  # a typo still finds it
    assert reply.ok and reply.title == "Squid Game"
    fields = {field.name: field.value for field in reply.fields}
    now = fields["Now in the Top 10"].split("\n")
    assert now[0] == (
        "🇯🇵 Netflix · Japan · TV — Squid Game: Season 1: #1 "
        "(9 weeks at #1 · 10 weeks in the Top 10)"
    )
    assert len(now) == 6
    assert fields["Countries at #1"] == "Netflix · TV: 1 country"
    assert fields["Best rank"].startswith("#1 — first in Netflix · South Korea · TV")
    assert (
        "most hours viewed in one week — Netflix · Worldwide · TV (Non-English): 571.8M hours"
        in (fields["Records held"])
    )


async def test_title_button_subscribes_to_the_show(service: CommandService) -> None:
    reply = await run(service, "/title Squid Game")
    (button,) = reply.buttons
    decoded = decode_button(button.payload())
    assert decoded is not None
    assert len(button.payload().encode()) <= 64  # Telegram's callback_data limit
    name, arguments = decoded
    subscribed = await service.execute(name, arguments, member())
    assert subscribed.ok and subscribed.title.startswith("Subscribed #")
    (stored,) = await service.subscriptions.subscriptions_of(GROUP)
    assert stored.spec == SubscriptionSpec(show="squid game", show_title="Squid Game")


async def test_unknown_title_suggests_close_ones(service: CommandService) -> None:
    reply = await run(service, "/title Hellbond Season")
    assert reply.ok  # close enough: taken
    missing = await run(service, "/title Qwxyz Plmkj")
    assert not missing.ok and missing.title == "No title matches 'Qwxyz Plmkj'"


async def test_decode_button_refuses_foreign_payloads() -> None:
    assert decode_button("other|subscribe|title=x") is None
    assert decode_button("t10|drop_tables|") is None
    assert decode_button("t10|subscribe|broken") is None
