"""Discord sharding: gateway processes split the servers, each answering its own servers.

Two adapters (as two gateway processes would run them) connect the real discord.py to one fake
Discord as shards [0] and [1] of 2; the fake sends each shard only its servers' events, as
Discord does ((guild_id >> 22) % shard_count, DMs to shard 0).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
import pytest

from bot.commands import CommandService
from bot.config import ConfigError
from bot.delivery.lifecycle import DestinationLifecycle
from handlers.discord.adapter import DiscordAdapter, DiscordSettings
from handlers.discord.settings import Sharding, discord_settings, read_sharding
from storage.memory import MemoryBackend
from tests.chat_fixtures import chat_service
from tests.fakes import FakeDiscord, SentInteraction

# (guild_id >> 22) % 2: the first is on shard 0, the second on shard 1.
GUILD_ON_0 = 111_111_111_115_305_415
GUILD_ON_1 = 111_111_111_111_111_111
CHANNEL_ON_0 = 222_222_222_222_222_220
CHANNEL_ON_1 = 222_222_222_222_222_221
MEMBER_ID = 333_333_333_333_333_331


@pytest.fixture
async def service() -> CommandService:
    return await chat_service()


@pytest.fixture
async def fake(fake_discord: FakeDiscord) -> FakeDiscord:
    for guild, channel in ((GUILD_ON_0, CHANNEL_ON_0), (GUILD_ON_1, CHANNEL_ON_1)):
        assert (guild >> 22) % 2 == (0 if guild == GUILD_ON_0 else 1)
        fake_discord.add_guild(guild, f"server {guild}")
        fake_discord.add_channel(guild, channel, "alerts")
        fake_discord.add_member(guild, MEMBER_ID, "member")
    return fake_discord


Gateway = Callable[[Sharding], Awaitable[DiscordAdapter]]


@pytest.fixture
async def gateway(fake: FakeDiscord, service: CommandService) -> AsyncIterator[Gateway]:
    """``await gateway(sharding)``: a running, ready adapter for those shards (stopped after)."""
    assert isinstance(service.storage, MemoryBackend)
    lifecycle = DestinationLifecycle(service.subscriptions, service.storage.outbox)
    async with AsyncExitStack() as stack:

        async def start(sharding: Sharding) -> DiscordAdapter:
            settings = DiscordSettings(
                token=fake.token, guild_ready_timeout=0.05, sharding=sharding
            )
            adapter = DiscordAdapter(service, settings, lifecycle)
            return await stack.enter_async_context(running(adapter))

        yield start


@asynccontextmanager
async def running(adapter: DiscordAdapter) -> AsyncIterator[DiscordAdapter]:
    task = asyncio.create_task(adapter.run())
    try:
        # Generous: an AutoShardedClient running two shards waits 5 s before the second IDENTIFY.
        await asyncio.wait_for(adapter.wait_until_ready(), 30)
        yield adapter
    finally:
        await adapter.stop()
        await asyncio.wait_for(task, 10)


async def top10(fake: FakeDiscord, guild_id: int | None, channel_id: int | None) -> str:
    """/top10 KR in that server's channel (None: a DM); the title of the embed answered."""
    sent = await fake.send_interaction(
        "top10", {"region": "KR"}, guild_id=guild_id, channel_id=channel_id, user_id=MEMBER_ID
    )
    responses = await fake.wait_for_response(sent, count=2)  # deferred, then the answer
    (embed,) = responses[1].data["embeds"]
    return str(embed["title"])


def interactions_seen_by(fake: FakeDiscord, shard_id: int) -> list[str]:
    return [
        str(data["id"])
        for event, data in fake.shard_events(shard_id)
        if event == "INTERACTION_CREATE"
    ]


def guild_ids(adapter: DiscordAdapter) -> set[int]:
    return {guild.id for guild in adapter.client.guilds}


async def test_two_gateway_processes_split_the_servers_and_answer_their_own(
    fake: FakeDiscord, gateway: Gateway
) -> None:
    first = await gateway(Sharding(2, (0,)))
    second = await gateway(Sharding(2, (1,)))
    assert sorted(identify["shard"] for identify in fake.identifies) == [[0, 2], [1, 2]]
    assert guild_ids(first) == {GUILD_ON_0}
    assert guild_ids(second) == {GUILD_ON_1}
    # The slash commands are registered once, by the process running shard 0.
    assert fake.command_syncs == {None: 1}

    answers = [
        await top10(fake, GUILD_ON_0, CHANNEL_ON_0),
        await top10(fake, GUILD_ON_1, CHANNEL_ON_1),
        await top10(fake, None, None),  # a DM: Discord sends it to shard 0
    ]
    assert answers == ["🇰🇷 Top 10 — Netflix · South Korea · TV"] * 3
    on_0, on_1, in_dm = (str(i.id) for i in _interactions(fake))
    assert interactions_seen_by(fake, 0) == [on_0, in_dm]
    assert interactions_seen_by(fake, 1) == [on_1]


def _interactions(fake: FakeDiscord) -> list[SentInteraction]:
    return list(fake.interactions.values())


async def test_one_process_may_run_every_shard(fake: FakeDiscord, gateway: Gateway) -> None:
    both = await gateway(Sharding(2))
    assert sorted(identify["shard"] for identify in fake.identifies) == [[0, 2], [1, 2]]
    assert guild_ids(both) == {GUILD_ON_0, GUILD_ON_1}
    assert {guild.shard_id for guild in both.client.guilds} == {0, 1}
    assert await top10(fake, GUILD_ON_1, CHANNEL_ON_1) == "🇰🇷 Top 10 — Netflix · South Korea · TV"


async def test_a_process_without_shard_0_leaves_the_commands_to_it(
    fake: FakeDiscord, gateway: Gateway
) -> None:
    await gateway(Sharding(2, (1,)))
    assert fake.command_syncs == {}


async def test_the_fake_closes_an_invalid_shard_with_4010(fake: FakeDiscord) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(fake.gateway_url) as ws:
        await ws.receive_json()  # HELLO
        identify = {"token": fake.token, "intents": 0, "properties": {}, "shard": [2, 2]}
        await ws.send_json({"op": 2, "d": identify})
        await ws.receive()
    assert ws.close_code == 4010


def settings_error(table: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        discord_settings(table, {})
    return str(caught.value)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"shard_ids": [0]}, "[discord] shard_ids needs shard_count"),
        ({"shard_count": 0}, "[discord] shard_count must be a whole number ≥ 1, not 0"),
        ({"shard_count": "2"}, "[discord] shard_count must be a whole number ≥ 1, not '2'"),
        ({"shard_count": True}, "[discord] shard_count must be a whole number ≥ 1, not True"),
        ({"shard_count": 2, "shard_ids": []}, "[discord] shard_ids must be a non-empty list"),
        ({"shard_count": 2, "shard_ids": 1}, "[discord] shard_ids must be a non-empty list"),
        ({"shard_count": 2, "shard_ids": ["1"]}, "[discord] shard_ids must hold whole numbers"),
        (
            {"shard_count": 2, "shard_ids": [0, 2]},
            "[discord] shard_ids: 2 is out of range; with shard_count = 2 the shards are 0 to 1",
        ),
        ({"shard_count": 2, "shard_ids": [-1]}, "[discord] shard_ids: -1 is out of range"),
        ({"shard_count": 3, "shard_ids": [1, 2, 1]}, "[discord] shard_ids lists shard 1 twice"),
    ],
)
def test_wrong_sharding_is_a_clear_error_even_without_a_token(
    table: dict[str, Any], message: str
) -> None:
    assert settings_error(table).startswith(message)
    assert settings_error({**table, "token": "a-token-xxxxxxxx"}).startswith(message)


def test_sharding_settings() -> None:
    assert read_sharding({}) == Sharding()
    assert read_sharding({"shard_count": 4}) == Sharding(4)
    assert read_sharding({"shard_count": 4, "shard_ids": [3, 1]}) == Sharding(4, (3, 1))
    settings = discord_settings({"shard_count": 4, "shard_ids": [2, 3]}, {"DISCORD_TOKEN": "t"})
    assert settings is not None and settings.sharding == Sharding(4, (2, 3))
    assert not settings.sharding.runs_shard_zero
    assert Sharding(4, (2, 3)).describe() == "shards 2, 3 of 4"
    assert Sharding(4).describe() == "shards 0, 1, 2, 3 of 4"
    assert Sharding().describe() == "one unsharded connection"
