"""A bot without a long-running process: `top10bot poll --once && top10bot deliveries send` from
cron, through main(), against the fake Netflix server and the fake Bot API on 127.0.0.1."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from bot.__main__ import main
from bot.models import WORLD
from bot.sources import netflix
from bot.subscriptions import Destination, SubscriptionSpec
from storage import open_backend
from tests.fakes import FakeTelegram
from tests.fakes.source_server import FAST_FETCH, FIXTURES, SourceServer, config_toml

GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")
CHAT = 5001
# The fixture's newest week ends 2026-07-19: news three days later, the weeks before history.
CRON_TIME = datetime(2026, 7, 22, 14, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)


async def cron(config: Path, *command: str) -> int:
    # main() runs its own event loop: a thread of its own, while this loop serves the fakes.
    return await asyncio.to_thread(main, ["--config", str(config), *command])


async def test_poll_once_then_deliveries_send_delivers_a_new_week_to_a_subscribed_chat(
    tmp_path: Path, fake_telegram: FakeTelegram, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    backend = await open_backend(url)
    try:
        await backend.subscriptions.add_subscription(
            Destination("telegram", str(CHAT)), SubscriptionSpec(service="netflix", region=WORLD)
        )
    finally:
        await backend.close()

    async with SourceServer() as server:
        server.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
        config = tmp_path / "top10bot.toml"
        tables: dict[str, dict[str, object]] = {
            "storage": {"url": url},
            "sources.netflix": {"base_url": server.netflix_base, "files": ["global"], **FAST_FETCH},
            "telegram": {
                "token": fake_telegram.token,
                "base_url": fake_telegram.base_url,
                "base_file_url": fake_telegram.base_file_url,
            },
        }
        config.write_text(config_toml(tables), encoding="utf-8")  # type: ignore[arg-type]

        with time_machine.travel(CRON_TIME, tick=True):
            assert await cron(config, "poll", "--once") == 0
            assert await cron(config, "deliveries", "send") == 0
            summary = capsys.readouterr().out.strip().splitlines()[-1]
            # The next cron run: the week is stored, nothing new, nothing left to send.
            assert await cron(config, "poll", "--once") == 0
            assert await cron(config, "deliveries", "send") == 0

    texts = [message.text for message in fake_telegram.sent]
    assert {message.chat_id for message in fake_telegram.sent} == {CHAT}
    everything = "\n".join(texts)
    assert "Shipwrecked: Nightmare at Sea is the new #1" in everything
    assert "Catch-up: " in everything  # the weeks before, folded into one summary
    assert summary.startswith("deliveries send: ") and summary.endswith(", 0 dead")
    assert capsys.readouterr().out.strip().splitlines()[-1] == (
        "deliveries send: 0 sent in 0 messages, 0 failed (retry scheduled), 0 dead"
    )
