"""/settings digest=daily@09:00 through `top10bot deliveries send` (cron) and the real
python-telegram-bot against the fake Bot API, the clock moved with time-machine: a chat's detail
events wait for one digest at 09:00 in its time zone, its headlines go out at once, and a digest
due inside its quiet hours goes out when they end."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine

from bot.subscriptions import ChatSettings
from tests.adapters.test_deliveries_send import EVENTS, queue_a_new_week, send
from tests.fakes import FakeTelegram

SEOUL = "Asia/Seoul"  # UTC+9, no daylight saving time
DIGEST = ChatSettings(timezone=SEOUL, digest_at=time(9, 0))
DIGEST_IN_QUIET_HOURS = ChatSettings(
    timezone=SEOUL, digest_at=time(9, 0), quiet_start=time(8, 0), quiet_end=time(10, 0)
)
# A Tuesday, 15:00 UTC: midnight in Seoul, when Netflix's new week is polled.
POLLED = datetime(2026, 7, 21, 15, 0, tzinfo=UTC)
NINE_IN_SEOUL = datetime(2026, 7, 22, 0, 0, tzinfo=UTC)
DIGEST_CHAT, QUIET_CHAT, PLAIN_CHAT = 3001, 3002, 3003


@pytest.fixture(autouse=True)
def _no_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)


def texts(fake: FakeTelegram, chat: int) -> list[str]:
    return [message.text or "" for message in fake.sent if message.chat_id == chat]


async def test_details_wait_for_the_digest_at_nine_local_and_headlines_go_at_once(
    tmp_path: Path, fake_telegram: FakeTelegram
) -> None:
    db = tmp_path / "bot.db"
    chats = [DIGEST_CHAT, QUIET_CHAT, PLAIN_CHAT]
    settings = {DIGEST_CHAT: DIGEST, QUIET_CHAT: DIGEST_IN_QUIET_HOURS}
    with time_machine.travel(POLLED, tick=True) as clock:
        await queue_a_new_week(db, chats, settings)
        assert await send(tmp_path, db, fake_telegram) == 0

        # At once: everything for the chat without a digest, the headlines for the others.
        [plain] = texts(fake_telegram, PLAIN_CHAT)
        assert plain.startswith(f"{EVENTS} chart updates\n")
        [headlines] = texts(fake_telegram, DIGEST_CHAT)
        assert texts(fake_telegram, QUIET_CHAT) == [headlines]
        assert "Show B is the new #1" in headlines
        assert "Show K" not in headlines  # an entry (not a debut): a detail
        held = EVENTS - int(headlines.split(" ", 1)[0])
        assert 0 < held < EVENTS

        # A minute before nine in Seoul, the digest is not due.
        clock.move_to(NINE_IN_SEOUL - timedelta(minutes=1))
        assert await send(tmp_path, db, fake_telegram) == 0
        assert len(fake_telegram.sent) == 3

        # Nine in Seoul: one message with every held detail.
        clock.move_to(NINE_IN_SEOUL)
        assert await send(tmp_path, db, fake_telegram) == 0
        [_, digest] = texts(fake_telegram, DIGEST_CHAT)
        assert digest.startswith(f"Daily digest: {held} chart updates\n")
        assert "Show K" in digest and "Show B is the new #1" not in digest
        # The other chat's digest falls inside its quiet hours (08:00–10:00 there).
        assert len(texts(fake_telegram, QUIET_CHAT)) == 1

        clock.move_to(NINE_IN_SEOUL + timedelta(hours=1))
        assert await send(tmp_path, db, fake_telegram) == 0
        assert texts(fake_telegram, QUIET_CHAT) == [headlines, digest]
        assert len(fake_telegram.sent) == 5
