"""A title card goes out as one message with an "All countries" button, through the real
platform clients against the fakes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.commands.reply import decode_button
from bot.delivery.lanes import SenderStats
from bot.events import Event, EventType
from bot.models import ChartKey, normalise_title
from bot.ports import Notifier
from bot.subscriptions import SubscriptionSpec, title_ref
from tests.adapters.sender_rig import (
    Rig,
    add_channels,
    deliver,
    discord_client,
    discord_sender,
    open_rig,
    telegram_bot,
    telegram_sender,
)
from tests.fakes import FakeDiscord, FakeTelegram

FOLLOWS_THE_TITLE = SubscriptionSpec(show="all of us are dead", show_title="All of Us Are Dead")


def news_in_countries(*regions: str) -> list[Event]:
    """The title became #1 in each region this week."""
    today = datetime.now(UTC).date()
    return [
        Event(
            EventType.NEW_NUMBER_ONE,
            ChartKey("netflix", "netflix", region, "TV", "weekly"),
            today,
            "all of us are dead|season 1",
            "All of Us Are Dead",
            "All of Us Are Dead: Season 1",
            rank=1,
            previous_rank=3,
        )
        for region in regions
    ]


async def deliver_to(rig: Rig, notifier: Notifier, *regions: str) -> SenderStats:
    events = news_in_countries(*regions)
    return await deliver(rig.storage, rig.outbox, rig.subscriptions, notifier, events)


async def test_telegram_gets_one_card_with_an_inline_button(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    async with open_rig(tmp_path) as rig, telegram_bot(fake_telegram) as bot:
        await rig.subscribe("telegram", [500], FOLLOWS_THE_TITLE)
        stats = await deliver_to(rig, telegram_sender(bot), "KR", "US", "GB", "JP")
    assert stats.messages_sent == 1 and stats.deliveries_sent == 4
    (message,) = fake_telegram.sent
    assert message.text.startswith("All of Us Are Dead: Season 1 — week ending ")
    assert "#1 in 4 countries — new #1 in 4, incl. US, GB, KR" in message.text
    assert message.reply_markup is not None
    ((button,),) = message.reply_markup["inline_keyboard"]
    assert button["text"] == "🌍 All countries"
    assert decode_button(button["callback_data"]) == (
        "title",
        {"title": title_ref(normalise_title("All of Us Are Dead"))},
    )


async def test_discord_gets_one_card_with_a_button_row(
    tmp_path: Path, fake_discord: FakeDiscord
) -> None:
    add_channels(fake_discord, [900])
    async with open_rig(tmp_path) as rig, discord_client(fake_discord) as client:
        await rig.subscribe("discord", [900], FOLLOWS_THE_TITLE)
        stats = await deliver_to(rig, discord_sender(client), "KR", "US", "GB")
    assert stats.messages_sent == 1
    (message,) = fake_discord.messages
    assert "Every country: /title All of Us Are Dead" in message.content
    ((button,),) = [row["components"] for row in message.components]
    assert button["label"] == "🌍 All countries"
    assert button["custom_id"].startswith("t10|title|title=~")
