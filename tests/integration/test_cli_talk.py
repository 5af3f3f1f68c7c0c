"""The CLI talks like a tool: `import` shows progress on a terminal only and ends with one summary
line; `poll --once` prints a line per source (events only with -v); a failed source is one short
line, from `poll --once` and from `run` alike."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.models import WORLD
from bot.sources import netflix
from bot.subscriptions import Destination, SubscriptionSpec
from storage import open_backend
from tests.fakes.source_server import FAST_FETCH, FIXTURES, SourceServer, config_toml

ROOT = Path(__file__).resolve().parents[2]
GLOBAL_FILE = ROOT / "tests" / "fixtures" / "netflix" / "all-weeks-global.tsv"
POLL_GLOBAL = (FIXTURES / "poll" / "all-weeks-global.tsv").read_text(encoding="utf-8")


UNSET: frozenset[str] = frozenset(
    {"TOP10BOT_CONFIG", "DISCORD_TOKEN", "TELEGRAM_TOKEN", "FORCE_COLOR", "NO_COLOR"}
)


def cli_env() -> dict[str, str]:
    """No config file, no chat token (run has the console only), a terminal 120 wide."""
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    return {**env, "COLUMNS": "120", "TERM": "xterm"}


def top10bot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=cli_env(),
        cwd=ROOT,
        check=False,
    )


# --- import ---------------------------------------------------------------------------------


def test_import_off_a_terminal_prints_only_its_summary_line(tmp_path: Path) -> None:
    db = str(tmp_path / "bot.db")
    first = top10bot("import", str(GLOBAL_FILE), "--db", db)
    assert first.returncode == 0
    assert first.stderr == ""  # no progress drawn into a pipe or a log file
    assert re.fullmatch(
        r"imported 1 file \(400 rows\): 40 charts accepted, 0 rejected,"
        r" [\d,]+ events in \d+\.\d s\n",
        first.stdout,
    )

    again = top10bot("import", str(GLOBAL_FILE), "--db", db)
    assert again.returncode == 0
    assert re.fullmatch(
        r"imported 1 file \(400 rows\): 0 charts accepted, 40 already stored, 0 rejected,"
        r" 0 events in \d+\.\d s\n",
        again.stdout,
    )


def test_import_on_a_terminal_draws_a_progress_line(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "import", str(GLOBAL_FILE), "--db", str(tmp_path / "b.db")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=cli_env(),
        cwd=ROOT,
    )
    os.close(terminal)
    drawn = b"".join(read_until_closed(controller)).decode("utf-8", errors="replace")
    stdout, _ = process.communicate()
    assert process.returncode == 0
    assert "importing" in drawn and "charts, period" in drawn
    assert stdout.decode().startswith("imported 1 file (400 rows): 40 charts accepted, ")


def read_until_closed(fd: int) -> Iterator[bytes]:
    try:
        while chunk := os.read(fd, 65536):
            yield chunk
    except OSError:  # EIO: the other end of the terminal is closed
        pass
    finally:
        os.close(fd)


# --- poll --once ----------------------------------------------------------------------------


async def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    # main() runs its own event loop: give it a thread so this test's loop keeps serving HTTP.
    code = await asyncio.to_thread(main, args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def write_config(tmp_path: Path, base_url: str) -> Path:
    tables = {
        "storage": {"url": f"sqlite:///{tmp_path / 'bot.db'}"},
        "sources.netflix": {"base_url": base_url, "files": ["global"], **FAST_FETCH},
    }
    path = tmp_path / "config.toml"
    path.write_text(config_toml(tables), encoding="utf-8")
    return path


async def subscribe_to_worldwide_charts(tmp_path: Path) -> None:
    backend = await open_backend(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        await backend.subscriptions.add_subscription(
            Destination("telegram", "1"),
            SubscriptionSpec(service="netflix", region=WORLD, details=True),
        )
    finally:
        await backend.close()


async def test_poll_once_prints_one_summary_line_per_source_and_no_events(
    tmp_path: Path, server: SourceServer, capsys: pytest.CaptureFixture[str]
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, POLL_GLOBAL)
    config = str(write_config(tmp_path, server.netflix_base))
    await subscribe_to_worldwide_charts(tmp_path)
    code, out, err = await run_cli(["--config", config, "poll", "--once"], capsys)
    assert code == 0
    assert err == ""
    match = re.fullmatch(
        r"netflix: 48 charts accepted, 0 rejected, (\d+) events, (\d+) deliveries queued\n", out
    )
    assert match is not None
    assert match[1] == match[2]  # one subscriber of every worldwide chart's every event


@pytest.mark.parametrize("verbose", [["-v", "poll", "--once"], ["poll", "--once", "-v"]])
async def test_poll_once_with_v_prints_the_events_too(
    tmp_path: Path, server: SourceServer, capsys: pytest.CaptureFixture[str], verbose: list[str]
) -> None:
    server.put_netflix(netflix.GLOBAL_FILE, POLL_GLOBAL)
    config = str(write_config(tmp_path, server.netflix_base))
    code, out, _ = await run_cli(["--config", config, *verbose], capsys)
    assert code == 0
    lines = out.splitlines()
    # Every week of the file is old news today: its events come as one catch-up summary.
    assert lines[0].startswith("Catch-up: ") and " events from " in lines[0]
    assert len(lines) > 3
    assert lines[-1].startswith("netflix: 48 charts accepted, 0 rejected, ")


def closed_port() -> int:
    """A local port nothing listens on: a connection to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_poll_once_says_a_failed_source_in_one_short_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = f"http://127.0.0.1:{closed_port()}/data/"
    config = str(write_config(tmp_path, base))
    code, out, err = await run_cli(["--config", config, "poll", "--once"], capsys)
    assert code == 1
    assert out == ""
    assert err == f"netflix: fetch failed: connection refused ({base}{netflix.GLOBAL_FILE})\n"


async def test_run_offline_logs_one_short_line_per_failed_source(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}/data/"
    config = write_config(tmp_path, base)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--config",
        str(config),
        "run",
        stdin=asyncio.subprocess.PIPE,  # the console waits on it
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=cli_env(),
        cwd=ROOT,
    )
    assert process.stderr is not None
    logged: list[str] = []
    try:
        while not logged or " netflix: " not in logged[-1]:
            line = await asyncio.wait_for(process.stderr.readline(), timeout=60)
            assert line, f"run ended before reporting the source: {logged}"
            logged.append(line.decode())
    finally:
        process.terminate()
        await process.wait()
    url = f"{base}{netflix.GLOBAL_FILE}"
    assert logged[-1].endswith(
        f" WARNING bot.app: netflix: fetch failed: connection refused ({url})\n"
    )
    assert len(logged[-1]) < 200
