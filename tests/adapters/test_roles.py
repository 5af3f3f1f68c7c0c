"""`top10bot run --role poller|sender|gateway`: three processes' worth of the bot on one store,
each pointed at fakes of its own, so every request shows which role made it.

The gateway answers a Telegram /subscribe (its own fake Bot API), the poller polls the local
Netflix mirror and queues the alerts, the sender delivers every one of them through its own fake
Bot API. Nothing reaches a fake its role must not use. And nonsense combinations are refused.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.app import run_bot
from bot.config import load_config
from bot.ports import DeliveryCounts
from bot.roles import Role
from bot.sources import netflix
from storage import open_backend
from tests.fakes import FakeTelegram
from tests.fakes.source_server import FAST_FETCH, FIXTURES, SourceServer, config_toml

GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")
USER_ID = 4444
PATIENCE = 120.0  # bounds on waits that take seconds: they only stop a hang


@pytest.fixture(autouse=True)
def _no_tokens_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)


def role_config(
    folder: Path, role: Role, db: str, source: SourceServer, telegram: FakeTelegram
) -> Path:
    path = folder / f"{role}.toml"
    tables: dict[str, dict[str, object]] = {
        "storage": {"url": db, "poller_takeover_seconds": 0.2},
        "console": {"enabled": False},
        "sources.netflix": {
            "base_url": source.netflix_base,
            "files": ["global"],
            "schedule": [],
            "publication_window": [],
            **FAST_FETCH,
        },
        "telegram": {
            "token": telegram.token,
            "base_url": telegram.base_url,
            "base_file_url": telegram.base_file_url,
            "poll_timeout": 0.5,
        },
        "delivery": {"idle_poll_seconds": 0.2},
    }
    path.write_text(config_toml(tables), encoding="utf-8")  # type: ignore[arg-type]
    return path


@asynccontextmanager
async def running(config: Path, role: Role) -> AsyncIterator[asyncio.Task[int]]:
    task = asyncio.create_task(run_bot(load_config(config), role=role, environ={}), name=role)
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def outbox_counts(db: str) -> DeliveryCounts:
    backend = await open_backend(db)
    try:
        return await backend.outbox.counts()
    finally:
        await backend.close()


async def all_sent(db: str, task: asyncio.Task[int]) -> DeliveryCounts:
    """Until something was queued and everything queued is sent (or the role ends: a failure)."""
    deadline = time.monotonic() + PATIENCE
    while True:
        counts = await outbox_counts(db)
        if counts.sent and not (counts.pending or counts.failed):
            return counts
        assert not task.done(), f"the {task.get_name()} role stopped: {task.result()}"
        assert time.monotonic() < deadline, f"not everything was sent: {counts}"
        await asyncio.sleep(0.1)


async def test_poller_sender_and_gateway_share_one_store_and_keep_to_their_parts(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'bot.db'}"
    async with (
        SourceServer() as netflix_mirror,
        SourceServer() as untouched_mirror,
        FakeTelegram(time_scale=0.05) as gateway_api,
        FakeTelegram(time_scale=0.05) as sender_api,
        FakeTelegram(time_scale=0.05) as poller_api,
    ):
        netflix_mirror.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
        untouched_mirror.put_netflix(netflix.GLOBAL_FILE, GLOBAL)
        configs = {
            Role.GATEWAY: role_config(tmp_path, Role.GATEWAY, db, untouched_mirror, gateway_api),
            Role.POLLER: role_config(tmp_path, Role.POLLER, db, netflix_mirror, poller_api),
            Role.SENDER: role_config(tmp_path, Role.SENDER, db, untouched_mirror, sender_api),
        }
        async with running(configs[Role.GATEWAY], Role.GATEWAY):
            gateway_api.inject_message(USER_ID, "/subscribe world", USER_ID)
            await gateway_api.wait_until(
                lambda: any("Subscribed" in (m.plain_text or "") for m in gateway_api.sent),
                PATIENCE,
                "the gateway's reply to /subscribe",
            )
            async with (
                running(configs[Role.POLLER], Role.POLLER),
                running(configs[Role.SENDER], Role.SENDER) as sender,
            ):
                counts = await all_sent(db, sender)

    # The poller fetched the mirror once; nobody else fetched anything.
    assert netflix_mirror.paths() == ["/tudum/top10/data/" + netflix.GLOBAL_FILE]
    assert untouched_mirror.hits == []
    # The alerts went out through the sender alone, which served no commands (REST only).
    assert counts.sent > 0 and counts.dead == 0
    assert sender_api.sent and {m.chat_id for m in sender_api.sent} == {USER_ID}
    assert sender_api.calls["getUpdates"] == 0
    assert "Catch-up" in "\n".join(m.plain_text or "" for m in sender_api.sent)
    # The gateway answered the command and sent no alert; the poller never used Telegram.
    assert [m.plain_text for m in gateway_api.sent if "Catch-up" in (m.plain_text or "")] == []
    assert gateway_api.calls["getUpdates"] > 0
    assert poller_api.requests == []


def test_an_unknown_role_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", "--role", "everything"])
    assert exited.value.code == 2
    assert "invalid choice: 'everything'" in capsys.readouterr().err


def write(folder: Path, text: str) -> Path:
    path = folder / "top10bot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_sender_without_a_chat_platform_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, f'[storage]\nurl = "sqlite:///{tmp_path / "bot.db"}"\n')
    assert main(["--config", str(config), "run", "--role", "sender"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --role sender: no chat platform to send through: set TELEGRAM_TOKEN or"
        " DISCORD_TOKEN (or a token in [telegram] / [discord])"
    )
    assert not (tmp_path / "bot.db").exists()  # refused before anything was opened


@pytest.mark.parametrize("role", ["poller", "sender", "gateway"])
@pytest.mark.parametrize("url", ["memory://", "sqlite://:memory:"])
def test_a_role_on_a_store_no_other_process_reaches_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], role: str, url: str
) -> None:
    config = write(tmp_path, f'[storage]\nurl = "{url}"\n[telegram]\ntoken = "1:x"\n')
    assert main(["--config", str(config), "run", "--role", role]) == 2
    assert "lives inside one process" in capsys.readouterr().err


def test_the_takeover_interval_must_be_a_positive_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for value in ("0", '"5s"'):
        config = write(tmp_path, f"[storage]\npoller_takeover_seconds = {value}\n")
        assert main(["--config", str(config), "run", "--role", "poller"]) == 2
        assert "poller_takeover_seconds must be a" in capsys.readouterr().err
