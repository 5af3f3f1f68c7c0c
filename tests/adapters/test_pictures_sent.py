"""Pictures through the real platform clients against the fakes: /title with its rank chart, and
the burst of a followed chart with its card — a Telegram photo, a Discord attachment shown in the
embed, a file the console names — from real Netflix weeks."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.commands import CommandService
from bot.delivery.lifecycle import DestinationLifecycle
from bot.delivery.sender import Sender
from bot.diff import DiffConfig
from bot.i18n import ENGLISH
from bot.models import ChartKey
from bot.pictures.model import ChartRef, Picture
from bot.pictures.service import PictureService
from bot.pipeline import Pipeline
from bot.subscriptions import ChatSettings, Destination, SubscriptionSpec
from handlers.console import ConsoleAdapter, ConsoleNotifier
from handlers.discord.adapter import DiscordAdapter
from handlers.pictures.renderer import MatplotlibRenderer
from handlers.telegram.adapter import TelegramAdapter
from handlers.telegram.notifier import TELEGRAM_CAPTION_MAX, telegram_text_length
from storage.memory import MemoryBackend
from tests.adapters.sender_rig import (
    add_channels,
    discord_adapter_running,
    discord_client,
    discord_sender,
    fast_config,
    running,
    telegram_bot,
    telegram_sender,
)
from tests.adapters.telegram_rig import running_telegram
from tests.chat_fixtures import chat_charts, chat_service, load_chat_history
from tests.fakes import FakeDiscord, FakeTelegram
from tests.picture_checks import assert_real_png

GROUP_ID = -4_000_000_001
MEMBER_ID = 4343
GUILD_ID = 111_111_111_111_111_111
CHANNEL_ID = 222_222_222_222_222_221

FOLLOWS_KR_TV = SubscriptionSpec(region="KR", category="TV", details=True)
FOLLOWS_SQUID_GAME = SubscriptionSpec(show="squid game", show_title="Squid Game")
KR_TV = ChartKey("netflix", "netflix", "KR", "TV", "weekly")
LAST_WEEK = date(2021, 11, 21)  # the last week of the fixtures, polled live in the burst tests
KR_TV_CARD = "top10-kr-tv-2021-11-21.png"
# The fakes run ten times faster than the platforms; so does the sender's pacing.
TELEGRAM_FAST = {
    "telegram_per_second": 300.0,
    "telegram_per_chat_per_second": 10.0,
    "telegram_per_group_per_minute": 200.0,
    "telegram_reply_reserve_per_second": 20.0,
}


@pytest.fixture
def renderer() -> Iterator[MatplotlibRenderer]:
    drawing = MatplotlibRenderer()
    yield drawing
    drawing.close()


@pytest.fixture
async def service(renderer: MatplotlibRenderer) -> CommandService:
    """Commands over ten real weeks, /title with its picture."""
    return await chat_service(renderer)


@pytest.fixture
def storage(service: CommandService) -> MemoryBackend:
    assert isinstance(service.storage, MemoryBackend)
    return service.storage


# -- /title --------------------------------------------------------------------------------------


@pytest.fixture
async def telegram_adapter(
    fake_telegram: FakeTelegram, service: CommandService, storage: MemoryBackend
) -> AsyncIterator[TelegramAdapter]:
    lifecycle = DestinationLifecycle(storage.subscriptions, storage.outbox)
    async with running_telegram(fake_telegram, service, lifecycle) as adapter:
        yield adapter


async def test_telegram_title_comes_with_its_rank_chart_as_a_photo(
    fake_telegram: FakeTelegram, telegram_adapter: TelegramAdapter
) -> None:
    fake_telegram.inject_message(GROUP_ID, "/title Squid Game", from_user=MEMBER_ID)
    await fake_telegram.wait_until(
        lambda: any(m.reply_markup for m in fake_telegram.sent), max_wait_s=30
    )
    photo, *rest = fake_telegram.sent
    assert photo.method == "sendPhoto" and photo.photo == "rank-squid-game.png"
    assert photo.parse_mode == "HTML" and photo.plain_text is not None
    assert photo.plain_text.startswith("Squid Game\n")
    assert telegram_text_length(photo.plain_text) <= TELEGRAM_CAPTION_MAX
    assert all(m.method == "sendMessage" for m in rest)
    # The whole reply is there, caption and text together, the button under the last message.
    whole = "\n".join(m.plain_text or "" for m in fake_telegram.sent)
    assert "Best rank" in whole and "Worldwide" in whole
    assert fake_telegram.sent[-1].reply_markup is not None
    # The photo is the PNG the bot uploaded, downloaded as a client would.
    (stored,) = [m for m in fake_telegram.chat_messages(GROUP_ID) if "photo" in m]
    bot = telegram_adapter.application.bot
    file = await bot.get_file(stored["photo"][0]["file_id"])
    assert_real_png(bytes(await file.download_as_bytearray()))


@pytest.fixture
async def discord_adapter(
    fake_discord: FakeDiscord, service: CommandService, storage: MemoryBackend
) -> AsyncIterator[DiscordAdapter]:
    fake_discord.add_guild(GUILD_ID, "Chart fans")
    fake_discord.add_channel(GUILD_ID, CHANNEL_ID, "alerts")
    lifecycle = DestinationLifecycle(storage.subscriptions, storage.outbox)
    async with discord_adapter_running(fake_discord, service, lifecycle) as adapter:
        yield adapter


async def test_discord_title_shows_its_rank_chart_in_the_embed(
    fake_discord: FakeDiscord, discord_adapter: DiscordAdapter
) -> None:
    interaction = await fake_discord.send_interaction(
        "title", {"name": "Squid Game"}, guild_id=GUILD_ID, channel_id=CHANNEL_ID, user_id=1
    )
    deferred, answer = await fake_discord.wait_for_response(interaction, count=2, max_wait_s=30)
    assert deferred.type == 5
    (embed,) = answer.data["embeds"]
    (attachment,) = answer.data["attachments"]
    assert embed["title"] == "Squid Game"
    assert attachment["filename"] == "rank-squid-game.png"
    assert embed["image"]["url"] == "attachment://rank-squid-game.png"
    assert_real_png(fake_discord.uploads[attachment["id"]])


async def test_the_console_prints_the_path_of_the_saved_picture(
    tmp_path: Path, service: CommandService
) -> None:
    console = ConsoleAdapter(service, out=io.StringIO(), picture_dir=tmp_path / "pictures")
    answer = await console.handle_line("/title squid game")
    assert answer is not None and answer.startswith("Squid Game\n")
    mark, _, path = answer.split("\n")[-1].partition(" ")
    assert mark == "🖼" and Path(path).parent == (tmp_path / "pictures").resolve()
    assert Path(path).name.startswith("rank-squid-game-")
    assert_real_png(await asyncio.to_thread(Path(path).read_bytes))


# -- the burst of a followed chart ----------------------------------------------------------------


@pytest.fixture
async def last_week_pending() -> MemoryBackend:
    """History up to the week before the last; the last week is then polled live."""
    charts = chat_charts()
    last = max(chart.period for chart in charts)
    backend = MemoryBackend()
    await load_chat_history(backend, [c for c in charts if c.period < last])
    return backend


async def poll_last_week(storage: MemoryBackend) -> None:
    """The last week arrives as a live poll stores it: its deliveries queued with its events."""
    charts = chat_charts()
    last = max(chart.period for chart in charts)
    pipeline = Pipeline(storage, DiffConfig(), queue_deliveries=True)
    await pipeline.process([c for c in charts if c.period == last])


async def subscribe(
    storage: MemoryBackend, platform: str, chat_ids: list[int | str], spec: SubscriptionSpec
) -> None:
    for chat_id in chat_ids:
        await storage.subscriptions.add_subscription(Destination(platform, str(chat_id)), spec)


def build_sender(storage: MemoryBackend, notifier: Any, pictures: PictureService) -> Sender:
    return Sender(
        storage.outbox,
        [notifier],
        storage.subscriptions,
        fast_config(**TELEGRAM_FAST),
        catchup_max_age=None,  # the fixture's weeks are old: listed, not folded into a catch-up
        pictures=pictures,
    )


async def send_all(storage: MemoryBackend, notifier: Any, pictures: PictureService) -> Sender:
    """Send what is due, as `top10bot deliveries send` does."""
    sender = build_sender(storage, notifier, pictures)
    await sender.run(until_idle=True)
    return sender


async def settled(storage: MemoryBackend, max_wait_s: float = 30.0) -> None:
    """Until nothing is pending or waiting for a retry (a bound against hangs, not a timing)."""
    async with asyncio.timeout(max_wait_s):
        while True:
            counts = await storage.outbox.counts()
            if counts.pending == counts.failed == 0:
                return
            # The outbox is a store the sender writes to: there is no event to wait on.
            await asyncio.sleep(0.02)


async def test_telegram_followers_of_a_chart_get_its_card_drawn_once_uploaded_once(
    make_fake_telegram: Any, last_week_pending: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    storage = last_week_pending
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    await subscribe(storage, "telegram", [501, 502], FOLLOWS_KR_TV)
    await subscribe(storage, "telegram", [503], FOLLOWS_SQUID_GAME)
    await poll_last_week(storage)
    pictures = PictureService(storage, renderer)
    async with telegram_bot(fake) as bot:
        sender = await send_all(storage, telegram_sender(bot), pictures)
    counts = await storage.outbox.counts()
    assert counts.pending == counts.failed == counts.dead == 0 and sender.stats.dead == 0
    photos = [m for m in fake.sent if m.method == "sendPhoto"]
    assert sorted(m.chat_id for m in photos) == [501, 502]
    for chat_id in (501, 502):
        first = fake.chat_messages(chat_id)[0]
        assert "photo" in first  # the card comes with the first message of the burst
        assert telegram_text_length(first["caption"]) <= TELEGRAM_CAPTION_MAX
        assert re.fullmatch(r"\d+ chart updates( \(1/\d\))?", first["caption"].split("\n")[0])
    # Drawn once, uploaded once: the second chat gets the same photo by its file_id.
    uploaded, reused = sorted(photos, key=lambda m: m.photo != KR_TV_CARD)
    assert uploaded.photo == KR_TV_CARD and reused.photo != KR_TV_CARD
    assert_real_png(fake.file_content(reused.photo or ""))
    assert pictures.renders == 1
    # A chat that follows a title, not the chart, gets the news without a card.
    assert fake.chat_messages(503) and not any("photo" in m for m in fake.chat_messages(503))


async def test_a_photo_whose_answer_was_lost_is_sent_once_more_and_no_more(
    make_fake_telegram: Any, last_week_pending: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    storage = last_week_pending
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    await subscribe(storage, "telegram", [501], FOLLOWS_KR_TV)
    await poll_last_week(storage)
    fake.delay_next("sendPhoto", 2.0)  # stored by the fake, answered after the client gave up
    async with telegram_bot(fake, read_timeout=0.5) as bot:
        sender = build_sender(storage, telegram_sender(bot), PictureService(storage, renderer))
        async with running(sender):
            await settled(storage)
    messages = fake.chat_messages(501)
    photos = [m for m in messages if "photo" in m]
    assert len(photos) == 2 and photos[0]["caption"] == photos[1]["caption"]
    texts = [m["text"] for m in messages if "text" in m]
    assert len(texts) == len(set(texts))  # the rest of the burst once each
    assert sender.stats.uncertain == 1 and (await storage.outbox.counts()).pending == 0


async def test_a_file_id_telegram_forgot_is_uploaded_again(
    fake_telegram: FakeTelegram, storage: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    card = await PictureService(storage, renderer).chart_picture(
        ChartRef(KR_TV, LAST_WEEK), ENGLISH
    )
    assert isinstance(card, Picture)
    async with telegram_bot(fake_telegram) as bot:
        notifier = telegram_sender(bot)
        await notifier.send("601", "first chat", picture=card)
        fake_telegram.forget_file(fake_telegram.chat_messages(601)[0]["photo"][0]["file_id"])
        await notifier.send("602", "second chat", picture=card)
    attempts = [r for r in fake_telegram.requests if r.method == "sendPhoto"]
    forgotten = fake_telegram.chat_messages(601)[0]["photo"][0]["file_id"]
    assert [(r.params.get("photo"), r.status) for r in attempts] == [
        (None, 200),  # an upload (the bytes are a file part, not a parameter)
        (forgotten, 400),
        (None, 200),
    ]
    assert_real_png(
        fake_telegram.file_content(fake_telegram.chat_messages(602)[0]["photo"][0]["file_id"])
    )


async def test_discord_followers_get_the_card_in_the_embed_and_a_repeat_is_dropped(
    fake_discord: FakeDiscord, last_week_pending: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    storage = last_week_pending
    add_channels(fake_discord, [901, 902])
    await subscribe(storage, "discord", [901, 902], FOLLOWS_KR_TV)
    await poll_last_week(storage)
    pictures = PictureService(storage, renderer)
    async with discord_client(fake_discord) as client:
        notifier = discord_sender(client)
        await send_all(storage, notifier, pictures)
        firsts = [
            min((m for m in fake_discord.messages if m.channel_id == c), key=lambda m: m.id)
            for c in (901, 902)
        ]
        for message in firsts:
            (attachment,) = message.attachments
            (embed,) = message.embeds
            assert attachment["filename"] == KR_TV_CARD
            assert embed["image"]["url"] == f"attachment://{KR_TV_CARD}"
            assert message.nonce and message.content.split("\n")[0].startswith("13 chart updates")
            assert_real_png(fake_discord.uploads[attachment["id"]])
        # Sent again after a crash, with the same nonce: Discord keeps the first message.
        before = len(fake_discord.messages)
        card = await pictures.chart_picture(ChartRef(KR_TV, LAST_WEEK), ENGLISH)
        await notifier.send("901", firsts[0].content, idempotency_key=firsts[0].nonce, picture=card)
    assert len(fake_discord.messages) == before and fake_discord.deduplicated == 1


async def test_the_console_gets_the_card_as_a_saved_file(
    tmp_path: Path, last_week_pending: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    storage = last_week_pending
    await subscribe(storage, "console", ["console"], FOLLOWS_KR_TV)
    await poll_last_week(storage)
    printed = io.StringIO()
    await send_all(storage, ConsoleNotifier(printed, tmp_path), PictureService(storage, renderer))
    lines = printed.getvalue().split("\n")
    (picture_line,) = [line for line in lines if line.startswith("🖼 ")]
    path = Path(picture_line.removeprefix("🖼 "))
    assert path.name.startswith("top10-kr-tv-2021-11-21-")
    assert_real_png(await asyncio.to_thread(path.read_bytes))


async def test_a_korean_chat_gets_the_card_drawn_in_korean(
    make_fake_telegram: Any, last_week_pending: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    storage = last_week_pending
    fake: FakeTelegram = await make_fake_telegram(time_scale=0.1)
    await subscribe(storage, "telegram", [701, 702], FOLLOWS_KR_TV)
    await storage.subscriptions.save_settings(
        Destination("telegram", "702"), ChatSettings(language="ko")
    )
    await poll_last_week(storage)
    pictures = PictureService(storage, renderer)
    async with telegram_bot(fake) as bot:
        await send_all(storage, telegram_sender(bot), pictures)
    english, korean = (fake.chat_messages(chat)[0] for chat in (701, 702))
    assert english["caption"].startswith("13 chart updates")
    assert korean["caption"].startswith("차트 소식 13건")
    assert pictures.renders == 2  # one card per language, each uploaded
    photos = {m.chat_id: m.photo for m in fake.sent if m.method == "sendPhoto"}
    assert photos == {701: KR_TV_CARD, 702: KR_TV_CARD}
    english_png, korean_png = (
        fake.file_content(message["photo"][0]["file_id"]) for message in (english, korean)
    )
    assert english_png != korean_png
    assert_real_png(korean_png)


async def test_a_discord_channel_without_attach_files_still_gets_the_alert_as_text(
    fake_discord: FakeDiscord, last_week_pending: MemoryBackend, renderer: MatplotlibRenderer
) -> None:
    storage = last_week_pending
    add_channels(fake_discord, [903, 904])
    fake_discord.deny_attachments(903)
    await subscribe(storage, "discord", [903, 904], FOLLOWS_KR_TV)
    await poll_last_week(storage)
    async with discord_client(fake_discord) as client:
        await send_all(storage, discord_sender(client), PictureService(storage, renderer))
    by_channel = {c: [m for m in fake_discord.messages if m.channel_id == c] for c in (903, 904)}
    # The channel that refuses files gets the same alert without the picture, and is not
    # treated as lost; the other gets the card.
    assert by_channel[903] and not any(m.attachments for m in by_channel[903])
    assert [m.content for m in by_channel[903]] == [m.content for m in by_channel[904]]
    assert by_channel[904][0].attachments
    counts = await storage.outbox.counts()
    assert counts.dead == 0 and counts.pending == 0 and counts.sent > 0
