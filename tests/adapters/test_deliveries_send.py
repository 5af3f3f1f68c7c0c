"""`top10bot deliveries send`: the cron half of a bot without a long-running process, run through
its main() with the real python-telegram-bot against the fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.diff import DiffConfig
from bot.models import WORLD, Chart, ChartKey, Entry, make_title_id
from bot.pipeline import Pipeline
from bot.subscriptions import ChatSettings, Destination, SubscriptionSpec
from storage.sqlite import SqliteBackend
from tests.fakes import FakeDiscord, FakeTelegram

CHART = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")
EVERYTHING_NETFLIX = SubscriptionSpec(service="netflix", details=True)
# What the new week of queue_a_new_week() makes: a new #1, climbs, falls, streaks, an entry, an
# exit (every chat is subscribed to all of them).
EVENTS = 13


def week(period: date, titles: list[str]) -> Chart:
    entries = tuple(
        Entry(rank=rank, title_id=make_title_id(title, None), title=title)
        for rank, title in enumerate(titles, start=1)
    )
    return Chart(CHART, period, entries)


async def queue_a_new_week(
    db: Path,
    chats: list[int],
    settings: dict[int, ChatSettings] | None = None,
    *,
    discord_channels: Sequence[int] = (),
) -> None:
    """Last week is history; this week arrives as a live poll stores it: its events, and the
    deliveries they owe each subscribed chat, in one transaction."""
    this_week = datetime.now(UTC).date()
    storage = await SqliteBackend.open(db)
    await storage.migrate()
    try:
        before = [f"Show {letter}" for letter in "ABCDEFGHIJ"]
        history = Pipeline(storage, DiffConfig(), queue_deliveries=False)
        await history.process([week(this_week - timedelta(7), before)])
        subscriptions = storage.subscriptions
        for chat in chats:
            destination = Destination("telegram", str(chat))
            await subscriptions.add_subscription(destination, EVERYTHING_NETFLIX)
            if settings and chat in settings:
                await subscriptions.save_settings(destination, settings[chat])
        for channel in discord_channels:
            await subscriptions.add_subscription(
                Destination("discord", str(channel)), EVERYTHING_NETFLIX
            )
        after = ["Show B", "Show A", *before[2:9], "Show K"]
        live = Pipeline(storage, DiffConfig(), queue_deliveries=True)
        await live.process([week(this_week, after)])
    finally:
        await storage.close()


def config_file(tmp_path: Path, fake: FakeTelegram | None, *, pictures: bool = False) -> Path:
    """The digests' text is what most tests here look at: the chart card that goes with the
    burst of a followed chart is off unless asked for (it makes the first message a photo)."""
    path = tmp_path / "top10bot.toml"
    telegram = (
        f'[telegram]\ntoken = "{fake.token}"\nbase_url = "{fake.base_url}"\n'
        f'base_file_url = "{fake.base_file_url}"\n'
        if fake is not None
        else ""
    )
    path.write_text(telegram + f"[pictures]\nenabled = {str(pictures).lower()}\n")
    return path


async def send(
    tmp_path: Path, db: Path, fake: FakeTelegram | None, *, pictures: bool = False
) -> int:
    """`top10bot deliveries send` in a thread of its own (main() runs its own event loop), while
    this loop serves the fake."""
    config = config_file(tmp_path, fake, pictures=pictures)
    argv = ["--config", str(config), "deliveries", "send", "--db", str(db)]
    return await asyncio.to_thread(main, argv)


@pytest.fixture(autouse=True)
def _no_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)


async def test_a_new_week_reaches_every_subscribed_chat_then_nothing_is_left(
    tmp_path: Path, fake_telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    chats = [1001, 1002, 1003]
    await queue_a_new_week(db, chats)

    assert await send(tmp_path, db, fake_telegram) == 0

    # One digest per chat, every event of the week in it.
    assert Counter(m.chat_id for m in fake_telegram.sent) == dict.fromkeys(chats, 1)
    digest = fake_telegram.sent[0].text
    assert digest.startswith(f"{EVENTS} chart updates\n• ")
    assert "Show B" in digest and "Show K" in digest
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary == (
        f"deliveries send: {3 * EVENTS} sent in 3 messages, 0 failed (retry scheduled), 0 dead"
    )

    assert await send(tmp_path, db, fake_telegram) == 0  # the next cron run: nothing left
    assert len(fake_telegram.sent) == len(chats)
    assert capsys.readouterr().out.strip() == (
        "deliveries send: 0 sent in 0 messages, 0 failed (retry scheduled), 0 dead"
    )


async def test_a_cron_run_sends_the_card_of_the_followed_chart_with_the_burst(
    tmp_path: Path, fake_telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    chats = [1101, 1102]
    await queue_a_new_week(db, chats)

    assert await send(tmp_path, db, fake_telegram, pictures=True) == 0

    for chat in chats:
        photo, *rest = [m for m in fake_telegram.sent if m.chat_id == chat]
        assert photo.method == "sendPhoto" and photo.plain_text is not None
        assert photo.plain_text.startswith(f"{EVENTS} chart updates (1/")
        assert [m.method for m in rest] == ["sendMessage"] * len(rest)
    uploaded = [m.photo for m in fake_telegram.sent if m.method == "sendPhoto"]
    card = f"top10-world-tv-english-{datetime.now(UTC).date().isoformat()}.png"
    assert uploaded[0] == card and uploaded[1] != card  # the second chat: by its file_id
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith(f"deliveries send: {2 * EVENTS} sent in ")
    assert summary.endswith(" 0 dead")


async def test_a_chat_that_is_gone_ends_dead_and_the_run_exits_1(
    tmp_path: Path, fake_telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    await queue_a_new_week(db, [2001, 2002])
    fake_telegram.block_chat(2002)  # the user blocked the bot

    assert await send(tmp_path, db, fake_telegram) == 1

    assert [m.chat_id for m in fake_telegram.sent] == [2001]
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith(f"deliveries send: {EVENTS} sent in 1 message, 0 failed")
    assert f", {EVENTS} dead" in summary and "deliveries status" in summary
    storage = await SqliteBackend.open(db)
    try:
        subscriptions = storage.subscriptions
        blocked = Destination("telegram", "2002")
        state = await subscriptions.destination_state(blocked)
        assert state is not None and not state.active
        assert len(await subscriptions.subscriptions_of(blocked)) == 1  # kept for a comeback
    finally:
        await storage.close()


async def test_a_group_migrated_to_a_supergroup_gets_its_alerts_there(
    tmp_path: Path, fake_telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    group, supergroup = -4_000_000_001, -1_001_234_567_890
    fake_telegram.add_chat(group, "group")
    db = tmp_path / "bot.db"
    await queue_a_new_week(db, [group])
    fake_telegram.migrate_chat(group, supergroup)

    assert await send(tmp_path, db, fake_telegram) == 0

    assert [m.chat_id for m in fake_telegram.sent] == [supergroup]
    assert f"{EVENTS} sent in 1 message" in capsys.readouterr().out
    storage = await SqliteBackend.open(db)
    try:
        subscriptions = storage.subscriptions
        moved = await subscriptions.subscriptions_of(Destination("telegram", str(supergroup)))
        assert [s.spec for s in moved] == [EVERYTHING_NETFLIX]
        assert await subscriptions.subscriptions_of(Destination("telegram", str(group))) == []
    finally:
        await storage.close()


async def test_a_chat_in_its_quiet_hours_is_left_for_a_later_run(
    tmp_path: Path, fake_telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    always_quiet = ChatSettings(
        quiet_start=(now - timedelta(hours=1)).time().replace(second=0, microsecond=0),
        quiet_end=(now + timedelta(hours=1)).time().replace(second=0, microsecond=0),
    )
    db = tmp_path / "bot.db"
    await queue_a_new_week(db, [3001, 3002], settings={3002: always_quiet})

    assert await send(tmp_path, db, fake_telegram) == 0

    assert [m.chat_id for m in fake_telegram.sent] == [3001]
    summary = capsys.readouterr().out.strip().splitlines()[-1]
    assert summary.startswith(f"deliveries send: {EVENTS} sent in 1 message, 0 failed")
    assert f"{EVENTS} left for a later run (quiet hours" in summary


async def test_without_a_platform_it_says_so_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    await queue_a_new_week(db, [4001])

    assert await send(tmp_path, db, None) == 2

    err = capsys.readouterr().err
    assert "no chat platform configured" in err and "TELEGRAM_TOKEN" in err


async def test_discord_channels_get_theirs_over_rest_without_a_gateway_session(
    tmp_path: Path, fake_discord: FakeDiscord, capsys: pytest.CaptureFixture[str]
) -> None:
    channel = 222_222_222_222_222_221
    fake_discord.add_guild(111_111_111_111_111_111, "Chart fans")
    fake_discord.add_channel(111_111_111_111_111_111, channel, "alerts")
    db = tmp_path / "bot.db"
    await queue_a_new_week(db, [], discord_channels=[channel])
    config = tmp_path / "top10bot.toml"
    config.write_text(f'[discord]\ntoken = "{fake_discord.token}"\n')

    argv = ["--config", str(config), "deliveries", "send", "--db", str(db)]
    assert await asyncio.to_thread(main, argv) == 0

    (message,) = fake_discord.messages
    assert message.channel_id == channel and message.content.startswith(f"{EVENTS} chart updates")
    assert isinstance(message.nonce, str)  # Discord drops a repeat after a crash
    assert capsys.readouterr().out.startswith(f"deliveries send: {EVENTS} sent in 1 message,")
