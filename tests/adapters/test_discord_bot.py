"""The Discord adapter, with the real discord.py against the fake Discord (REST + gateway)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from bot.commands import COMMANDS, Command, CommandService
from bot.delivery.lifecycle import DestinationLifecycle
from bot.events import Event, EventType
from bot.models import ChartKey
from bot.ports import Batch, DestinationGone, MessageRejected
from bot.subscriptions import Destination, SubscriptionSpec
from handlers.discord.adapter import DiscordAdapter, DiscordSettings, discord_settings
from storage.memory import MemoryBackend
from storage.memory.outbox import MemoryOutbox
from storage.memory.subscriptions import MemorySubscriptionStore
from tests.adapters.sender_rig import deliver, discord_adapter_running
from tests.chat_fixtures import chat_service
from tests.fakes import FakeDiscord, InteractionRejected, InteractionResponse, SentInteraction
from tests.fakes.discord_server import MANAGE_CHANNELS, MESSAGE_FLAG_EPHEMERAL, VIEW_CHANNEL
from tests.hostile_text import UTF8_ARGUMENTS

GUILD_ID = 111_111_111_111_111_111
CHANNEL_ID = 222_222_222_222_222_221
OTHER_CHANNEL_ID = 222_222_222_222_222_222
MEMBER_ID = 333_333_333_333_333_331
MODERATOR_ID = 333_333_333_333_333_332
MODERATOR_ROLE_ID = 444_444_444_444_444_441

KR_TV = ChartKey("netflix", "netflix", "KR", "TV", "weekly")


def alert(title: str = "Hellbound") -> Event:
    return Event(
        EventType.NEW_NUMBER_ONE, KR_TV, date(2021, 11, 28), title.lower(), title, None, rank=1
    )


@pytest.fixture
async def service() -> CommandService:
    return await chat_service()


@pytest.fixture
def outbox(service: CommandService) -> MemoryOutbox:
    """The backend's outbox: live events stored queue their deliveries."""
    assert isinstance(service.storage, MemoryBackend)
    return service.storage.outbox


async def alert_now(adapter: DiscordAdapter, outbox: MemoryOutbox, *events: Event) -> Any:
    """Store the events (deliveries queued) and send what is due through the adapter's notifier."""
    service = adapter._service
    return await deliver(service.storage, outbox, service.subscriptions, adapter.notifier, events)


@pytest.fixture
async def adapter(
    fake_discord: FakeDiscord, service: CommandService, outbox: MemoryOutbox
) -> AsyncIterator[DiscordAdapter]:
    fake_discord.add_guild(GUILD_ID, "Chart fans")
    fake_discord.add_channel(GUILD_ID, CHANNEL_ID, "alerts")
    fake_discord.add_channel(GUILD_ID, OTHER_CHANNEL_ID, "general")
    fake_discord.add_role(GUILD_ID, MODERATOR_ROLE_ID, "moderator", MANAGE_CHANNELS)
    fake_discord.add_member(GUILD_ID, MEMBER_ID, "member")
    fake_discord.add_member(GUILD_ID, MODERATOR_ID, "moderator", role_ids=[MODERATOR_ROLE_ID])
    # Global commands: they work in servers and in DMs (guild commands only in their guild).
    lifecycle = DestinationLifecycle(service.subscriptions, outbox)
    async with discord_adapter_running(fake_discord, service, lifecycle) as discord_adapter:
        yield discord_adapter


async def slash(
    fake: FakeDiscord, name: str, options: dict[str, Any] | None = None, **kwargs: Any
) -> SentInteraction:
    kwargs.setdefault("guild_id", GUILD_ID)
    kwargs.setdefault("channel_id", CHANNEL_ID)
    kwargs.setdefault("user_id", MEMBER_ID)
    return await fake.send_interaction(name, options or {}, **kwargs)


async def answer_embed(fake: FakeDiscord, interaction: SentInteraction) -> dict[str, Any]:
    """The embed the bot finally answered with (after a defer, in the follow-up)."""
    responses = await fake.wait_for_response(interaction)
    if responses[0].type == 5:  # deferred: the answer follows
        responses = await fake.wait_for_response(interaction, count=2)
    (embed,) = responses[-1].data["embeds"]
    return dict(embed)


async def test_commands_are_registered_from_the_registry(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    registered = {c["name"]: c for c in fake_discord.commands[None]}
    assert list(registered) == [c.name for c in COMMANDS]
    assert registered["subscribe"]["default_member_permissions"] == str(MANAGE_CHANNELS)
    assert registered["top10"]["default_member_permissions"] is None
    region = registered["top10"]["options"][0]
    assert (region["name"], region["autocomplete"]) == ("region", True)
    category = registered["top10"]["options"][1]
    assert [c["value"] for c in category["choices"]][:2] == ["TV", "Films"]


async def test_top10_kr_end_to_end(fake_discord: FakeDiscord, adapter: DiscordAdapter) -> None:
    interaction = await slash(fake_discord, "top10", {"region": "KR"})
    responses = await fake_discord.wait_for_response(interaction, count=2)
    assert responses[0].type == 5  # deferred within the 3 s limit
    (embed,) = responses[1].data["embeds"]
    assert embed["title"] == "🇰🇷 Top 10 — Netflix · South Korea · TV"
    lines = embed["description"].split("\n")
    assert lines[0] == "1. Hellbound: Season 1 🆕 · 1 wk"
    assert len(lines) == 10
    assert embed["footer"]["text"].startswith("Netflix Top 10 (official) · week ending 2021-11-21")


async def test_subscribe_needs_manage_channels(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, service: CommandService
) -> None:
    channel = Destination("discord", str(CHANNEL_ID))
    with pytest.raises(InteractionRejected):  # Discord hides it from plain members
        await slash(fake_discord, "subscribe", {"region": "KR"})
    # A server admin may lift the default for everyone: the bot still checks.
    overridden = await slash(fake_discord, "subscribe", {"region": "KR"}, discord_checks=False)
    refusal = await answer_embed(fake_discord, overridden)
    assert refusal["title"] == "⚠️ Not allowed"
    assert "Manage Channels" in refusal["description"]
    assert await service.subscriptions.subscriptions_of(channel) == []

    allowed = await slash(
        fake_discord, "subscribe", {"region": "KR", "category": "TV"}, user_id=MODERATOR_ID
    )
    confirmation = await answer_embed(fake_discord, allowed)
    assert confirmation["title"] == f"Subscribed #1 — alerts go to <#{CHANNEL_ID}>"
    (subscription,) = await service.subscriptions.subscriptions_of(channel)
    assert subscription.spec == SubscriptionSpec(region="KR", category="TV")


async def test_personal_subscriptions_in_dms(
    fake_discord: FakeDiscord,
    adapter: DiscordAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    interaction = await fake_discord.send_interaction(
        "subscribe", {"title": "Squid Game"}, user_id=MEMBER_ID
    )
    confirmation = await answer_embed(fake_discord, interaction)
    assert confirmation["title"] == "Subscribed #1 — alerts go to your DMs"
    dm = Destination("discord", str(interaction.channel_id))
    assert len(await service.subscriptions.subscriptions_of(dm)) == 1

    stats = await alert_now(adapter, outbox, alert("Squid Game"))

    assert stats.messages_sent == 1
    (message,) = fake_discord.messages
    assert message.channel_id == interaction.channel_id
    assert message.content.endswith("Squid Game debuts at #1")


async def test_an_alert_reaches_a_subscribed_channel(
    fake_discord: FakeDiscord,
    adapter: DiscordAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    await service.subscriptions.add_subscription(
        Destination("discord", str(CHANNEL_ID)), SubscriptionSpec(region="KR")
    )
    stats = await alert_now(adapter, outbox, alert("@everyone *Bold* Title"))
    assert stats.messages_sent == 1
    (message,) = fake_discord.messages
    assert message.channel_id == CHANNEL_ID
    # Markdown in a title is escaped (shown as typed); mentions are never parsed.
    assert message.content == (
        "[week ending 2021-11-28] Netflix · South Korea · TV: @everyone \\*Bold* Title debuts at #1"
    )
    assert message.payload["allowed_mentions"]["parse"] == []


async def test_a_deleted_channel_is_paused_and_its_alerts_set_aside(
    fake_discord: FakeDiscord,
    adapter: DiscordAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    channel = Destination("discord", str(CHANNEL_ID))
    await service.subscriptions.add_subscription(channel, SubscriptionSpec(region="KR"))
    await service.storage.save_batch(
        Batch(events=[alert()]), queue_deliveries=True
    )  # queued, not sent yet
    fake_discord.delete_channel(CHANNEL_ID)  # while the bot is online: CHANNEL_DELETE

    async def paused() -> bool:
        state = await service.subscriptions.destination_state(channel)
        return state is not None and not state.active

    for _ in range(100):
        if await paused():
            break
        await asyncio.sleep(0.02)
    state = await service.subscriptions.destination_state(channel)
    assert state is not None and state.reason == "channel deleted"
    assert len(await service.subscriptions.subscriptions_of(channel)) == 1
    # The same use case as when a send fails: the open delivery is a dead letter at once.
    counts = await outbox.counts()
    assert (counts.pending, counts.dead) == (0, 1)


async def test_a_channel_deleted_while_offline_fails_once_then_pauses(
    fake_discord: FakeDiscord,
    adapter: DiscordAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    channel = Destination("discord", str(OTHER_CHANNEL_ID))
    await service.subscriptions.add_subscription(channel, SubscriptionSpec(region="KR"))
    fake_discord.delete_channel(OTHER_CHANNEL_ID, notify_gateway=False)
    assert (await alert_now(adapter, outbox, alert())).deactivated == 1
    state = await service.subscriptions.destination_state(channel)
    assert state is not None and state.reason == "unknown channel"
    requests = len(fake_discord.requests)
    again = await alert_now(adapter, outbox, alert("Squid Game"))
    assert again.messages_sent == 0 and again.deactivated == 0
    assert len(fake_discord.requests) == requests  # no repeated 404s


async def test_a_removed_permission_pauses_the_channel(
    fake_discord: FakeDiscord,
    adapter: DiscordAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    channel = Destination("discord", str(CHANNEL_ID))
    await service.subscriptions.add_subscription(channel, SubscriptionSpec(region="KR"))
    fake_discord.revoke_access(CHANNEL_ID, code=50013)
    stats = await alert_now(adapter, outbox, alert())
    assert stats.deactivated == 1
    state = await service.subscriptions.destination_state(channel)
    assert state is not None and state.reason == "missing permissions"
    # Access back and an admin subscribes again: the channel resumes.
    fake_discord.restore_access(CHANNEL_ID)
    again = await slash(fake_discord, "subscribe", {"region": "JP"}, user_id=MODERATOR_ID)
    await answer_embed(fake_discord, again)
    assert (await alert_now(adapter, outbox, alert("Squid Game"))).messages_sent == 1


async def test_a_user_who_blocks_dms_is_paused(
    fake_discord: FakeDiscord,
    adapter: DiscordAdapter,
    service: CommandService,
    outbox: MemoryOutbox,
) -> None:
    interaction = await fake_discord.send_interaction(
        "subscribe", {"region": "KR"}, user_id=MEMBER_ID
    )
    await answer_embed(fake_discord, interaction)
    fake_discord.block_dms(MEMBER_ID)
    stats = await alert_now(adapter, outbox, alert())
    assert stats.deactivated == 1
    state = await service.subscriptions.destination_state(
        Destination("discord", str(interaction.channel_id))
    )
    assert state is not None and state.reason == "cannot send messages to this user"


async def test_subscribe_where_the_bot_cannot_post(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    interaction = await slash(
        fake_discord,
        "subscribe",
        {"region": "KR"},
        user_id=MODERATOR_ID,
        app_permissions=VIEW_CHANNEL,
    )
    refusal = await answer_embed(fake_discord, interaction)
    assert refusal["title"] == "⚠️ I cannot post here"


async def test_autocomplete_for_titles_and_regions(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    titles = await fake_discord.send_autocomplete(
        "title",
        {"name": "squid"},
        focused="name",
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        user_id=MEMBER_ID,
    )
    (response,) = await fake_discord.wait_for_response(titles)
    assert response.type == 8
    assert response.data["choices"][0]["value"].startswith("Squid Game")
    regions = await fake_discord.send_autocomplete(
        "top10",
        {"region": "kore"},
        focused="region",
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        user_id=MEMBER_ID,
    )
    (response,) = await fake_discord.wait_for_response(regions)
    assert response.data["choices"][0] == {"name": "🇰🇷 South Korea", "value": "KR"}


async def test_title_answer_carries_a_subscribe_button(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    interaction = await slash(fake_discord, "title", {"name": "Squid Game"})
    responses = await fake_discord.wait_for_response(interaction, count=2)
    data = responses[-1].data
    assert data["embeds"][0]["title"] == "Squid Game"
    ((button,),) = [row["components"] for row in data["components"]]
    assert button["label"] == "🔔 Subscribe"
    assert button["custom_id"].startswith("t10|subscribe|title=~")


async def squid_game_card(fake: FakeDiscord, **kwargs: Any) -> dict[str, Any]:
    """`/title Squid Game` (in the guild channel unless told otherwise): the message carrying
    its answer and the Subscribe button."""
    interaction = await slash(fake, "title", {"name": "Squid Game"}, **kwargs)
    await answer_embed(fake, interaction)
    (card,) = [m for m in [interaction.original, *interaction.followups] if m and m["components"]]
    return card


async def press_subscribe(fake: FakeDiscord, card: dict[str, Any], user_id: int) -> SentInteraction:
    ((button,),) = [row["components"] for row in card["components"]]
    assert button["label"] == "🔔 Subscribe"
    return await fake.send_component_interaction(
        button["custom_id"], message_id=int(card["id"]), user_id=user_id
    )


async def final_answer(fake: FakeDiscord, interaction: SentInteraction) -> InteractionResponse:
    """The response carrying the bot's answer (after a defer, the follow-up)."""
    responses = await fake.wait_for_response(interaction)
    if responses[0].type == 5:
        responses = await fake.wait_for_response(interaction, count=2)
    return responses[-1]


def is_ephemeral(interaction_responses: list[InteractionResponse]) -> bool:
    """Only the user sees it: flagged in the first response (a defer's flags carry over)."""
    return bool(int(interaction_responses[0].data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)


async def test_the_subscribe_button_subscribes_the_channel_for_a_moderator(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, service: CommandService
) -> None:
    card = await squid_game_card(fake_discord)  # typed by a plain member
    click = await press_subscribe(fake_discord, card, MODERATOR_ID)

    answer = await final_answer(fake_discord, click)
    (confirmation,) = answer.data["embeds"]
    assert confirmation["title"] == f"Subscribed #1 — alerts go to <#{CHANNEL_ID}>"
    assert confirmation["description"] == "Squid Game — headlines"
    # A change to the channel's alerts is announced to the channel, not only to the presser.
    assert not is_ephemeral(await fake_discord.wait_for_response(click))
    (subscription,) = await service.subscriptions.subscriptions_of(
        Destination("discord", str(CHANNEL_ID))
    )
    assert subscription.spec == SubscriptionSpec(show="squid game", show_title="Squid Game")
    listing = await answer_embed(fake_discord, await slash(fake_discord, "subscriptions"))
    assert listing["title"] == f"Subscriptions of <#{CHANNEL_ID}>"
    assert listing["description"] == "\\#1 Squid Game — headlines"  # "#" escaped: no heading


async def test_the_subscribe_button_refuses_a_member_without_manage_channels(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, service: CommandService
) -> None:
    card = await squid_game_card(fake_discord)
    click = await press_subscribe(fake_discord, card, MEMBER_ID)

    answer = await final_answer(fake_discord, click)
    (refusal,) = answer.data["embeds"]
    assert refusal["title"] == "⚠️ Not allowed"
    assert refusal["description"] == (
        "You need the Manage Channels permission to change this channel's alerts."
    )
    assert is_ephemeral(await fake_discord.wait_for_response(click))
    assert (
        await service.subscriptions.subscriptions_of(Destination("discord", str(CHANNEL_ID))) == []
    )


async def test_the_subscribe_button_in_dms_subscribes_the_user(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, service: CommandService
) -> None:
    card = await squid_game_card(fake_discord, guild_id=None, channel_id=None)
    dm_channel_id = int(card["channel_id"])
    assert dm_channel_id != CHANNEL_ID
    click = await press_subscribe(fake_discord, card, MEMBER_ID)

    answer = await final_answer(fake_discord, click)
    (confirmation,) = answer.data["embeds"]
    assert confirmation["title"] == "Subscribed #1 — alerts go to your DMs"
    (subscription,) = await service.subscriptions.subscriptions_of(
        Destination("discord", str(dm_channel_id))
    )
    assert subscription.spec.show_title == "Squid Game"
    assert (
        await service.subscriptions.subscriptions_of(Destination("discord", str(CHANNEL_ID))) == []
    )


async def test_the_token_never_reaches_the_logs(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    interaction = await slash(fake_discord, "help")
    await fake_discord.wait_for_response(interaction)
    assert fake_discord.token not in caplog.text


def test_settings_come_from_the_environment_or_the_config() -> None:
    table = {"token": "config-token-xxxxxxxx", "guild_ids": [1, "2"]}
    from_env = discord_settings(table, {"DISCORD_TOKEN": "env-token-xxxxxxxx"})
    assert from_env is not None and from_env.token == "env-token-xxxxxxxx"
    assert from_env.guild_ids == (1, 2)
    assert discord_settings({}, {}) is None


async def test_an_idempotency_key_delivers_a_message_once(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    await adapter.notifier.send(str(CHANNEL_ID), "New #1: Hellbound", idempotency_key="grp-17")
    await adapter.notifier.send(str(CHANNEL_ID), "New #1: Hellbound", idempotency_key="grp-17")
    assert [m.content for m in fake_discord.messages] == ["New #1: Hellbound"]
    assert fake_discord.deduplicated == 1


async def test_a_message_discord_refuses_is_rejected_not_retried(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake_discord.fail_next("/channels/", status=400, code=50035, message="Invalid Form Body")
    with pytest.raises(MessageRejected):
        await adapter.notifier.send(str(CHANNEL_ID), "hello")
    assert fake_discord.messages == []


async def test_the_server_owner_is_told_when_a_send_finds_the_channel_lost(
    fake_discord: FakeDiscord, adapter: DiscordAdapter
) -> None:
    fake_discord.revoke_access(CHANNEL_ID, code=50013)
    with pytest.raises(DestinationGone):
        await adapter.notifier.send(str(CHANNEL_ID), "New #1: Hellbound")
    (notice,) = fake_discord.messages
    assert notice.channel_id != CHANNEL_ID  # the owner's DM
    assert notice.content.startswith(
        "top10bot can no longer post alerts in this channel (missing permissions)."
    )
    assert notice.content.endswith(f"(Server: Chart fans, channel id {CHANNEL_ID})")
    assert not await adapter.notifier.tell_owner("999", "unknown channel")


class SlowSubscriptions(MemorySubscriptionStore):
    """A store that answers only when the test lets it (a big import holding the lock)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def subscriptions_of(self, destination: Destination) -> list[Any]:
        await self.release.wait()
        return await super().subscriptions_of(destination)


async def test_a_quick_command_on_a_slow_store_is_deferred(fake_discord: FakeDiscord) -> None:
    fake_discord.add_guild(GUILD_ID, "Chart fans")
    fake_discord.add_channel(GUILD_ID, CHANNEL_ID, "alerts")
    fake_discord.add_member(GUILD_ID, MEMBER_ID, "member")
    store = SlowSubscriptions()
    service = CommandService(MemoryBackend(), store)
    settings = DiscordSettings(token=fake_discord.token, guild_ready_timeout=0.05, defer_after=0.05)
    lifecycle = DestinationLifecycle(store, MemoryOutbox(store))
    discord_adapter = DiscordAdapter(service, settings, lifecycle)
    task = asyncio.create_task(discord_adapter.run())
    try:
        await asyncio.wait_for(discord_adapter.wait_until_ready(), 10)
        interaction = await slash(fake_discord, "subscriptions")
        (deferred,) = await fake_discord.wait_for_response(interaction)
        assert deferred.type == 5
        store.release.set()
        responses = await fake_discord.wait_for_response(interaction, count=2)
        assert responses[1].data["embeds"][0]["title"] == f"No subscriptions in <#{CHANNEL_ID}>"
    finally:
        await discord_adapter.stop()
        await asyncio.wait_for(task, 10)


async def test_an_unclear_subscribe_offers_title_buttons(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, service: CommandService
) -> None:
    channel = Destination("discord", str(CHANNEL_ID))
    interaction = await slash(fake_discord, "subscribe", {"title": "love"}, user_id=MODERATOR_ID)
    question = await answer_embed(fake_discord, interaction)
    assert question["title"] == "⚠️ Which title is 'love'?"
    assert await service.subscriptions.subscriptions_of(channel) == []
    (message,) = [
        m for m in [interaction.original, *interaction.followups] if m and m["components"]
    ]
    buttons = [button for row in message["components"] for button in row["components"]]
    assert 2 <= len(buttons) <= 5
    (chosen,) = [button for button in buttons if button["label"] == "Love Hard"]

    click = await fake_discord.send_component_interaction(
        chosen["custom_id"], message_id=int(message["id"]), user_id=MODERATOR_ID
    )
    (confirmation,) = (await final_answer(fake_discord, click)).data["embeds"]
    assert confirmation["title"] == f"Subscribed #1 — alerts go to <#{CHANNEL_ID}>"
    (subscription,) = await service.subscriptions.subscriptions_of(channel)
    assert subscription.spec == SubscriptionSpec(show="love hard", show_title="Love Hard")


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.name)
async def test_hostile_options_get_an_embed_that_discord_accepts(
    fake_discord: FakeDiscord, adapter: DiscordAdapter, command: Command
) -> None:
    for argument in command.arguments:
        for text in UTF8_ARGUMENTS:
            # A DM: every command is allowed there, so each one reaches the service.
            interaction = await fake_discord.send_interaction(
                command.name, {argument.name: text}, user_id=MEMBER_ID
            )
            embed = await answer_embed(fake_discord, interaction)
            assert not embed["title"].startswith("⚠️ Something went wrong")
            if argument.autocomplete:
                typed = await fake_discord.send_autocomplete(
                    command.name, {argument.name: text}, focused=argument.name, user_id=MEMBER_ID
                )
                (completion,) = await fake_discord.wait_for_response(typed)
                assert completion.type == 8
