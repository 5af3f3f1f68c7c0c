"""`top10bot deliveries status|retry` and the delivery line of `top10bot status`, on real SQLite."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.events import Event, EventType
from bot.models import WORLD, ChartKey
from bot.ports import Batch
from bot.subscriptions import Destination, SubscriptionSpec
from storage.sqlite import SqliteBackend

CHAT_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "chat"
CHART = ChartKey("netflix", "netflix", WORLD, "TV (English)", "weekly")


async def outbox_with_a_dead_letter(path: Path) -> str:
    storage = await SqliteBackend.open(path)
    await storage.migrate()
    try:
        subscriptions, outbox = storage.subscriptions, storage.outbox
        for chat in ("1", "2"):
            await subscriptions.add_subscription(
                Destination("telegram", chat), SubscriptionSpec(service="netflix")
            )
        today = datetime.now(UTC).date()
        event = Event(EventType.NEW_NUMBER_ONE, CHART, today, "hit", "Hit", None, rank=1)
        await storage.save_batch(Batch(events=[event]), queue_deliveries=True)
        now = datetime.now(UTC)
        groups = await outbox.claim("telegram", now, timedelta(seconds=30), 10)
        first, second = sorted(groups, key=lambda g: g.destination.chat_id)
        await outbox.mark_sent([d.id for d in first.deliveries], now)
        await outbox.mark_dead(
            [d.id for d in second.deliveries], now, "gave up after 6 attempts: HTTP 502"
        )
        return event.key
    finally:
        await storage.close()


def test_dead_letters_are_listed_and_queued_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    key = asyncio.run(outbox_with_a_dead_letter(db))

    assert main(["deliveries", "status", "--db", str(db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("deliveries: 0 pending, 0 failed (retry scheduled), 1 sent, 1 dead")
    assert lines[1].startswith("dead #")
    assert lines[1].endswith(f"telegram:2 {key}: gave up after 6 attempts: HTTP 502")

    assert main(["deliveries", "retry", "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("1 dead letters queued again")

    assert main(["status", "--db", str(db)]) == 0
    status = capsys.readouterr().out.splitlines()
    assert status[-1] == "deliveries: 1 pending, 0 failed (retry scheduled), 0 dead"


@pytest.mark.parametrize("command", [["status"], ["poll", "--once", "--source", "nowhere"]])
def test_a_config_error_of_a_command_is_a_clear_message_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    config = tmp_path / "top10bot.toml"
    config.write_text('[alerts]\ncatchup_max_age = "soon"\n', encoding="utf-8")
    db = tmp_path / "top10.db"

    assert main(["--config", str(config), *command, "--db", str(db)]) == 2

    err = capsys.readouterr().err
    assert err.startswith("config error: ")
    assert "Traceback" not in err


async def subscribe_to_everything(path: Path) -> None:
    storage = await SqliteBackend.open(path)
    await storage.migrate()
    try:
        await storage.subscriptions.add_subscription(
            Destination("telegram", "1"), SubscriptionSpec(service="netflix")
        )
    finally:
        await storage.close()


@pytest.mark.parametrize("command", ["import", "replay"])
def test_import_and_replay_store_history_and_queue_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    db = tmp_path / "bot.db"
    asyncio.run(subscribe_to_everything(db))
    files = [str(path) for path in sorted(CHAT_FIXTURES.glob("*.tsv"))]

    assert main([command, *files, "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["deliveries", "status", "--db", str(db)]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("deliveries: 0 pending, ")

    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "no deliveries are queued" in " ".join(capsys.readouterr().out.split())
