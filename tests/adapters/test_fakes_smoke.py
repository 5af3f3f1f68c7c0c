"""The fake servers work with the real, unmodified python-telegram-bot and discord.py."""

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import discord
import pytest
from discord import app_commands
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from tests.fakes import (
    FakeDiscord,
    FakeTelegram,
    InteractionRejected,
    SentInteraction,
    run_application,
    run_client,
)

GROUP_ID = -4_000_000_001
SUPERGROUP_ID = -1_001_234_567_890
USER_ID = 4242


# ----------------------------------------------------------------------------- Telegram


@asynccontextmanager
async def telegram_bot(fake: FakeTelegram, *, read_timeout: float = 5.0) -> AsyncIterator[Bot]:
    bot = Bot(
        fake.token,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        request=HTTPXRequest(read_timeout=read_timeout),
    )
    async with bot:
        yield bot


async def reply_pong(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("pong")


async def test_ptb_application_answers_an_injected_ping_in_a_group(
    fake_telegram: FakeTelegram,
    telegram_builder: ApplicationBuilder,  # type: ignore[type-arg]
) -> None:
    application = telegram_builder.build()
    application.add_handler(CommandHandler("ping", reply_pong))

    async with run_application(application):
        update = fake_telegram.inject_message(
            GROUP_ID, "/ping", from_user=USER_ID, chat_type="group"
        )
        (reply,) = await fake_telegram.wait_for_sent(1)
        # PTB confirms what it fetched with the next getUpdates offset.
        await fake_telegram.wait_until(lambda: fake_telegram.pending_updates == 0)

    assert reply.chat_id == GROUP_ID
    assert reply.text == "pong"
    assert reply.reply_to_message_id == update["message"]["message_id"]
    assert reply.message_id > update["message"]["message_id"]
    assert fake_telegram.calls["getMe"] == 1
    assert fake_telegram.calls["deleteWebhook"] == 1


async def test_a_reply_in_a_forum_topic_stays_in_the_topic(
    fake_telegram: FakeTelegram,
    telegram_builder: ApplicationBuilder,  # type: ignore[type-arg]
) -> None:
    application = telegram_builder.build()
    application.add_handler(CommandHandler("ping", reply_pong))

    async with run_application(application):
        fake_telegram.inject_message(
            SUPERGROUP_ID, "/ping", from_user=USER_ID, chat_type="supergroup", thread_id=77
        )
        (reply,) = await fake_telegram.wait_for_sent(1)

    assert reply.thread_id == 77


async def test_inline_button_press_reaches_the_callback_handler(
    fake_telegram: FakeTelegram,
    telegram_builder: ApplicationBuilder,  # type: ignore[type-arg]
) -> None:
    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer(f"got {update.callback_query.data}")
        await update.callback_query.edit_message_text("unsubscribed")

    application = telegram_builder.build()
    application.add_handler(CallbackQueryHandler(on_press))

    async with run_application(application):
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Stop", callback_data="unsub:7")]])
        message = await application.bot.send_message(USER_ID, "Subscribed", reply_markup=keyboard)
        fake_telegram.inject_callback_query(USER_ID, message.message_id, "unsub:7", USER_ID)
        await fake_telegram.wait_until(lambda: len(fake_telegram.edits) == 1)

    assert fake_telegram.sent[0].reply_markup == keyboard.to_dict()
    assert [answer.text for answer in fake_telegram.callback_answers] == ["got unsub:7"]
    assert fake_telegram.edits[0].text == "unsubscribed"


async def test_sending_to_a_blocked_chat_raises_forbidden(fake_telegram: FakeTelegram) -> None:
    fake_telegram.block_chat(USER_ID)
    async with telegram_bot(fake_telegram) as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER_ID, "hello")

    assert fake_telegram.sent == []


async def test_sending_to_a_migrated_group_raises_chat_migrated(
    fake_telegram: FakeTelegram,
) -> None:
    fake_telegram.migrate_chat(GROUP_ID, SUPERGROUP_ID)
    async with telegram_bot(fake_telegram) as bot:
        with pytest.raises(ChatMigrated) as migrated:
            await bot.send_message(GROUP_ID, "hello")
        await bot.send_message(migrated.value.new_chat_id, "hello again")

    assert migrated.value.new_chat_id == SUPERGROUP_ID
    assert [(m.chat_id, m.text) for m in fake_telegram.sent] == [(SUPERGROUP_ID, "hello again")]


@pytest.mark.parametrize(
    ("ceilings", "chat_ids"),
    [
        ({"per_chat_per_s": 1}, [USER_ID, USER_ID]),
        ({"per_group_per_min": 2}, [GROUP_ID, GROUP_ID, GROUP_ID]),
        ({"overall_per_s": 2}, [USER_ID, USER_ID + 1, USER_ID + 2]),
    ],
    ids=["per-chat", "per-group", "overall"],
)
async def test_crossing_a_ceiling_raises_retry_after_and_is_counted(
    make_fake_telegram: Callable[..., Any], ceilings: dict[str, int], chat_ids: list[int]
) -> None:
    # Only the ceiling under test is enforced; a long time_scale keeps the window open however
    # slow the machine is.
    limits = {"overall_per_s": None, "per_chat_per_s": None, "per_group_per_min": None}
    fake: FakeTelegram = await make_fake_telegram(**(limits | ceilings), time_scale=30.0)
    async with telegram_bot(fake) as bot:
        for chat_id in chat_ids[:-1]:
            await bot.send_message(chat_id, "within the ceiling")
        with pytest.raises(RetryAfter) as flood:
            await bot.send_message(chat_ids[-1], "one too many")

    assert isinstance(flood.value.retry_after, dt.timedelta)
    assert flood.value.retry_after >= dt.timedelta(seconds=1)
    assert fake.rate_limited == 1
    assert len(fake.sent) == len(chat_ids) - 1


async def test_a_delayed_answer_times_out_but_the_message_was_delivered(
    fake_telegram: FakeTelegram,
) -> None:
    fake_telegram.delay_next("sendMessage", seconds=2.0)
    async with telegram_bot(fake_telegram, read_timeout=0.2) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(USER_ID, "maybe delivered")

    assert [(m.text, m.ambiguous) for m in fake_telegram.sent] == [("maybe delivered", True)]


async def test_server_errors_and_bad_html_map_to_ptb_errors(fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", status=502)
    async with telegram_bot(fake_telegram) as bot:
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(USER_ID, "first try")
        with pytest.raises(BadRequest, match=r"(?i)can't find end of the entity"):
            await bot.send_message(USER_ID + 1, "Tom & Jerry", parse_mode=ParseMode.HTML)
        await bot.send_message(USER_ID + 2, "<b>Tom &amp; Jerry</b>", parse_mode=ParseMode.HTML)

    (delivered,) = fake_telegram.sent
    assert delivered.plain_text == "Tom & Jerry"
    assert delivered.parse_mode == ParseMode.HTML


async def test_chat_queries_commands_and_photos_round_trip(fake_telegram: FakeTelegram) -> None:
    fake_telegram.add_chat(GROUP_ID, "group", title="Chart watchers")
    fake_telegram.set_admins(GROUP_ID, [USER_ID, USER_ID + 1], owner_id=USER_ID)
    async with telegram_bot(fake_telegram) as bot:
        admins = await bot.get_chat_administrators(GROUP_ID)
        stranger = await bot.get_chat_member(GROUP_ID, USER_ID + 9)
        chat = await bot.get_chat(GROUP_ID)
        await bot.set_my_commands([("top", "This week's Top 10")])
        commands = await bot.get_my_commands()
        photo = await bot.send_photo(GROUP_ID, b"\x89PNG fake", caption="Poster", filename="a.png")
        downloaded = await (await bot.get_file(photo.photo[-1].file_id)).download_as_bytearray()

    assert [(m.user.id, m.status) for m in admins] == [
        (USER_ID, ChatMemberStatus.OWNER),
        (USER_ID + 1, ChatMemberStatus.ADMINISTRATOR),
    ]
    assert stranger.status == ChatMemberStatus.MEMBER
    assert chat.title == "Chart watchers"
    assert [(c.command, c.description) for c in commands] == [("top", "This week's Top 10")]
    assert (fake_telegram.sent[0].photo, fake_telegram.sent[0].text) == ("a.png", "Poster")
    assert bytes(downloaded) == b"\x89PNG fake"


# ----------------------------------------------------------------------------- Discord

GUILD_ID = 111_111_111_111_111_111
CHANNEL_ID = 222_222_222_222_222_221
OTHER_CHANNEL_IDS = (222_222_222_222_222_222, 222_222_222_222_222_223)
MEMBER_ID = 333_333_333_333_333_331
MODERATOR_ID = 333_333_333_333_333_332
MODERATOR_ROLE_ID = 444_444_444_444_444_441
SHOWS = ["Squid Game", "Stranger Things", "Wednesday"]


def populate(fake: FakeDiscord) -> None:
    fake.add_guild(GUILD_ID, "Charts fans")
    fake.add_channel(GUILD_ID, CHANNEL_ID, "alerts")
    for index, channel_id in enumerate(OTHER_CHANNEL_IDS):
        fake.add_channel(GUILD_ID, channel_id, f"other-{index}")
    fake.add_role(
        GUILD_ID,
        MODERATOR_ROLE_ID,
        "moderator",
        discord.Permissions(manage_channels=True).value,
    )
    fake.add_member(GUILD_ID, MEMBER_ID, "member")
    fake.add_member(GUILD_ID, MODERATOR_ID, "moderator", role_ids=[MODERATOR_ROLE_ID])


def build_client() -> tuple[discord.Client, app_commands.CommandTree[discord.Client]]:
    # guild_ready_timeout: discord.py waits this long after the last GUILD_CREATE (default 2 s).
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    tree = app_commands.CommandTree(client)
    guild = discord.Object(GUILD_ID)

    @tree.command(name="ping", description="Answers pong", guild=guild)
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong")

    @tree.command(name="chart", description="Slow answer", guild=guild)
    async def chart(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content="Top 10 this week")
        await interaction.followup.send("and the full list")

    async def complete_show(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=s, value=s) for s in SHOWS if s.startswith(current)]

    @tree.command(name="subscribe", description="Alerts in a channel", guild=guild)
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.checks.has_permissions(manage_channels=True)
    @app_commands.autocomplete(show=complete_show)
    async def subscribe(
        interaction: discord.Interaction, channel: discord.TextChannel, show: str
    ) -> None:
        await interaction.response.send_message(f"{show} alerts go to #{channel.name}")

    @tree.command(name="late", description="Answers after the deadline", guild=guild)
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.3)
        try:
            await interaction.response.send_message("too late")
        except discord.NotFound as error:
            assert isinstance(interaction.channel, discord.TextChannel)
            await interaction.channel.send(f"could not answer in time: {error.code}")

    @tree.command(name="about", description="Works in DMs too")
    async def about(interaction: discord.Interaction) -> None:
        where = "a DM" if interaction.guild_id is None else "a guild"
        await interaction.response.send_message(f"top10bot, answering in {where}")

    @subscribe.error
    async def subscribe_refused(
        interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await interaction.response.send_message(f"refused: {type(error).__name__}", ephemeral=True)

    return client, tree


@pytest.fixture
async def discord_world(
    fake_discord: FakeDiscord,
) -> AsyncIterator[tuple[FakeDiscord, discord.Client, app_commands.CommandTree[discord.Client]]]:
    """A populated fake with a connected client whose guild commands are synced."""
    populate(fake_discord)
    client, tree = build_client()
    async with run_client(client):
        await tree.sync(guild=discord.Object(GUILD_ID))
        await tree.sync()
        yield fake_discord, client, tree


async def test_client_connects_and_syncs_commands(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, client, _ = discord_world

    guild = client.get_guild(GUILD_ID)
    assert guild is not None
    assert guild.get_channel(CHANNEL_ID) is not None
    assert fake.identifies[0]["token"] == FakeDiscord.DEFAULT_TOKEN
    assert sorted(c["name"] for c in fake.commands[GUILD_ID]) == [
        "chart",
        "late",
        "ping",
        "subscribe",
    ]
    assert [c["name"] for c in fake.commands[None]] == ["about"]
    subscribe = next(c for c in fake.commands[GUILD_ID] if c["name"] == "subscribe")
    assert subscribe["default_member_permissions"] == str(
        discord.Permissions(manage_channels=True).value
    )


async def test_slash_command_is_answered(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, _, _ = discord_world

    interaction = await fake.send_interaction(
        "ping", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=MEMBER_ID
    )
    (response,) = await fake.wait_for_response(interaction)

    assert (response.kind, response.type, response.data["content"]) == ("callback", 4, "pong")
    assert interaction.original is not None


async def test_deferred_answer_is_edited_then_followed_up(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, _, _ = discord_world

    interaction = await fake.send_interaction(
        "chart", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=MEMBER_ID
    )
    responses = await fake.wait_for_response(interaction, count=3)

    assert [(r.kind, r.type) for r in responses] == [
        ("callback", 5),
        ("edit_original", None),
        ("followup", None),
    ]
    assert interaction.original is not None
    assert interaction.original["content"] == "Top 10 this week"
    assert [f["content"] for f in interaction.followups] == ["and the full list"]


async def test_default_permissions_and_the_bot_side_check(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, _, _ = discord_world
    options = {"channel": CHANNEL_ID, "show": "Wednesday"}

    async def subscribe(user_id: int, *, discord_checks: bool = True) -> SentInteraction:
        return await fake.send_interaction(
            "subscribe",
            options,
            guild_id=GUILD_ID,
            channel_id=CHANNEL_ID,
            user_id=user_id,
            discord_checks=discord_checks,
        )

    with pytest.raises(InteractionRejected, match="default_member_permissions"):
        await subscribe(MEMBER_ID)
    # A guild admin can override the default in Discord's settings; the bot still checks.
    refused = await subscribe(MEMBER_ID, discord_checks=False)
    allowed = await subscribe(MODERATOR_ID)

    (refusal,) = await fake.wait_for_response(refused)
    (answer,) = await fake.wait_for_response(allowed)
    assert refusal.data["content"] == "refused: MissingPermissions"
    assert answer.data["content"] == "Wednesday alerts go to #alerts"


async def test_autocomplete_gets_choices(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, _, _ = discord_world

    interaction = await fake.send_autocomplete(
        "subscribe",
        {"channel": CHANNEL_ID, "show": "S"},
        focused="show",
        guild_id=GUILD_ID,
        channel_id=CHANNEL_ID,
        user_id=MODERATOR_ID,
    )
    (response,) = await fake.wait_for_response(interaction)

    assert response.type == 8
    assert [c["value"] for c in response.data["choices"]] == ["Squid Game", "Stranger Things"]


async def test_same_nonce_twice_stores_one_message(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, client, _ = discord_world
    channel = client.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)

    first = await channel.send("New #1: Wednesday", nonce="evt-1")
    second = await channel.send("New #1: Wednesday", nonce="evt-1")

    assert first.id == second.id
    assert [(m.content, m.nonce) for m in fake.messages] == [("New #1: Wednesday", "evt-1")]
    assert fake.deduplicated == 1


async def test_deleted_and_forbidden_channels_raise(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, client, _ = discord_world
    deleted, revoked = (client.get_channel(c) for c in OTHER_CHANNEL_IDS)
    assert isinstance(deleted, discord.TextChannel)
    assert isinstance(revoked, discord.TextChannel)
    fake.delete_channel(deleted.id, notify_gateway=False)
    fake.revoke_access(revoked.id)

    with pytest.raises(discord.NotFound) as not_found:
        await deleted.send("anyone there?")
    with pytest.raises(discord.Forbidden) as forbidden:
        await revoked.send("anyone there?")

    assert not_found.value.code == 10003
    assert forbidden.value.code == 50001
    assert fake.messages == []


async def test_global_429_is_counted_and_retried_by_discord_py(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, client, _ = discord_world
    channels = [client.get_channel(c) for c in (CHANNEL_ID, OTHER_CHANNEL_IDS[0])]
    fake.overall_per_s = 1
    fake.time_scale = 0.5  # a "second" of the global window lasts 0.5 s

    # Two channels are two discord.py buckets, so both sends go out at once.
    await asyncio.gather(*(c.send(f"alert {i}") for i, c in enumerate(channels)))  # type: ignore[union-attr]

    assert fake.rate_limited == 1
    assert sorted(m.content for m in fake.messages) == ["alert 0", "alert 1"]
    assert sum(r.status == 429 for r in fake.requests) == 1


async def test_per_channel_bucket_headers_make_discord_py_pace_itself(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, client, _ = discord_world
    channel = client.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    fake.per_channel = (2, 0.3)

    for index in range(3):
        await channel.send(f"alert {index}")

    assert len(fake.messages) == 3
    assert fake.rate_limited == 0


async def test_interaction_answered_after_the_deadline_is_unknown(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, _, _ = discord_world
    fake.time_scale = 0.05  # the 3 s acknowledgement deadline becomes 0.15 s

    await fake.send_interaction("late", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=MEMBER_ID)
    (fallback,) = await fake.wait_for_messages(1)

    assert fallback.content == "could not answer in time: 10062"
    assert fake.interaction_responses == []


async def test_dm_interaction_reaches_a_global_command(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, _, _ = discord_world

    interaction = await fake.send_interaction("about", user_id=MEMBER_ID)
    (response,) = await fake.wait_for_response(interaction)

    assert interaction.guild_id is None
    assert response.data["content"] == "top10bot, answering in a DM"


async def test_world_changes_reach_the_client_over_the_gateway(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, client, _ = discord_world
    joined = asyncio.ensure_future(client.wait_for("guild_join"))
    removed = asyncio.ensure_future(client.wait_for("guild_channel_delete"))

    fake.add_guild(GUILD_ID + 10, "Late guild")
    fake.delete_channel(OTHER_CHANNEL_IDS[0])
    guild, channel = await asyncio.wait_for(asyncio.gather(joined, removed), timeout=5)

    assert guild.id == GUILD_ID + 10
    assert channel.id == OTHER_CHANNEL_IDS[0]
    assert client.get_channel(OTHER_CHANNEL_IDS[0]) is None


async def test_client_resumes_after_the_gateway_drops(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, client, _ = discord_world
    resumed = asyncio.ensure_future(client.wait_for("resumed"))

    await fake.disconnect_gateway(code=4000)
    await asyncio.wait_for(resumed, timeout=5)
    interaction = await fake.send_interaction(
        "ping", guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=MEMBER_ID
    )
    (response,) = await fake.wait_for_response(interaction)

    assert len(fake.identifies) == 1  # resumed, not identified again
    assert response.data["content"] == "pong"


async def test_unretried_server_error_and_delayed_answer(
    discord_world: tuple[FakeDiscord, discord.Client, Any],
) -> None:
    fake, client, _ = discord_world
    channel = client.get_channel(CHANNEL_ID)
    assert isinstance(channel, discord.TextChannel)
    # discord.py retries 500/502/504 itself (after 1 s, 3 s…); 503 reaches the caller at once.
    fake.fail_next(f"/channels/{CHANNEL_ID}/messages", status=503)
    fake.delay_next(f"/channels/{CHANNEL_ID}/messages", seconds=2.0)

    with pytest.raises(discord.DiscordServerError):
        await channel.send("first try")
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(channel.send("second try"), timeout=0.2)

    assert [(m.content, m.ambiguous) for m in fake.messages] == [("second try", True)]


async def test_members_intent_gets_a_member_chunk(fake_discord: FakeDiscord) -> None:
    populate(fake_discord)
    intents = discord.Intents.default()
    intents.members = True
    client = discord.Client(intents=intents, guild_ready_timeout=0.05)

    async with run_client(client):
        guild = client.get_guild(GUILD_ID)
        assert guild is not None
        assert guild.chunked
        assert guild.get_member(MODERATOR_ID) is not None
