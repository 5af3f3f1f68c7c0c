"""/subscribe, /unsubscribe and /subscriptions."""

from __future__ import annotations

from bot.commands import CommandService
from tests.unit.commands.command_helpers import GROUP, member, run


async def test_subscription_lifecycle(service: CommandService) -> None:
    first = await run(service, "/subscribe Squid Game")
    assert first.title.startswith("Subscribed #1")
    again = await run(service, "/subscribe title=squid game")
    assert again.title == "Already subscribed (#1)"
    second = await run(service, "/subscribe world new_number_one records")
    assert second.lines[0] == "Worldwide — records, new #1"
    listing = await run(service, "/subscriptions")
    assert listing.lines == (
        "#1 Squid Game — headlines",
        "#2 Worldwide — records, new #1",
    )
    wrong = await run(service, "/unsubscribe 9")
    assert not wrong.ok and "#1 Squid Game — headlines" in wrong.suggestions
    assert (await run(service, "/unsubscribe #1")).title == "Unsubscribed #1"
    assert (await run(service, "/unsubscribe all")).title == "Removed 1 subscription"
    empty = await run(service, "/subscriptions")
    assert empty.title == "No subscriptions in this chat"


async def test_subscribe_refuses_nothing_and_unknown_parts(service: CommandService) -> None:
    assert (await run(service, "/subscribe")).title == "Subscribe to what?"
    bad_events = await service.execute("subscribe", {"events": "recrods"}, member())
    assert bad_events.title == "Unknown event type 'recrods'"
    assert "records" in bad_events.suggestions
    bad_region = await service.execute("subscribe", {"region": "atlantis"}, member())
    assert bad_region.title == "Unknown region 'atlantis'"


async def test_subscribe_warns_when_no_chart_exists_yet(service: CommandService) -> None:
    reply = await run(service, "/subscribe FR TV")
    assert reply.ok
    assert "No matching chart is stored yet" in reply.lines[-1]


async def test_subscribe_where_the_bot_cannot_post(service: CommandService) -> None:
    reply = await run(service, "/subscribe KR", member(bot_can_post=False))
    assert not reply.ok and reply.title == "I cannot post here"


async def test_details_are_opt_in_per_subscription(service: CommandService) -> None:
    headlines = await run(service, "/subscribe KR TV")
    assert headlines.lines[0] == "South Korea · TV — headlines"
    details = await run(service, "/subscribe KR TV details")
    assert details.title.startswith("Subscribed #2")
    assert details.lines[0] == "South Korea · TV — every event"
    spelled = await run(service, "/subscribe KR TV events=all")
    assert spelled.title == "Already subscribed (#2)"


async def test_subscribe_to_nothing_close_subscribes_nothing(service: CommandService) -> None:
    for text in ("/subscribe title=nonexistent show xyz", "/subscribe ZZ"):
        reply = await run(service, text)
        assert not reply.ok and not reply.buttons, text
        assert reply.lines[0] == "Nothing subscribed: no stored title is close to that."
    assert await service.subscriptions.subscriptions_of(GROUP) == []


async def test_unclear_title_offers_choices_that_subscribe_exactly(
    service: CommandService,
) -> None:
    reply = await run(service, "/subscribe love region=KR")
    assert not reply.ok and reply.title == "Which title is 'love'?"
    assert await service.subscriptions.subscriptions_of(GROUP) == []
    assert 2 <= len(reply.buttons) <= 5
    labels = [button.label for button in reply.buttons]
    assert {"Love Hard", "Love 101"} <= set(labels)
    for button in reply.buttons:
        assert button.command == "subscribe"
        assert len(button.payload().encode()) <= 64  # Telegram's callback_data limit
        assert ("region", "KR") in button.arguments  # the rest of the command comes along
    chosen = reply.buttons[labels.index("Love Hard")]
    subscribed = await service.execute(chosen.command, dict(chosen.arguments), member())
    assert subscribed.ok and subscribed.lines[0].startswith("Love Hard")
    (stored,) = await service.subscriptions.subscriptions_of(GROUP)
    assert stored.spec.show == "love hard" and stored.spec.region == "KR"


async def test_a_clear_typo_subscribes_at_once(service: CommandService) -> None:
    reply = await run(service, "/subscribe Sqiud Gmae")
    assert reply.ok and reply.lines[0] == "Squid Game — headlines"


async def test_choices_that_cannot_carry_the_rest_of_the_command_are_named(
    service: CommandService,
) -> None:
    # A button payload holds 64 bytes and no "|": the titles are named to be typed instead.
    for rest in ("events=records,new_number_one,lost_number_one", "region=K|R"):
        reply = await run(service, f"/subscribe love {rest}")
        assert not reply.ok and not reply.buttons, rest
        assert {"Love Hard", "Love 101"} <= set(reply.suggestions)
    assert await service.subscriptions.subscriptions_of(GROUP) == []
