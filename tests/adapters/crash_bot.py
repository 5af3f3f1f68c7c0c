"""The bot process of the crash test: the real `run_bot` (adapters, outbox, sender) with
discord.py pointed at the fake Discord of the parent test process.

    python -m tests.adapters.crash_bot CONFIG.toml DISCORD_API_BASE DISCORD_GATEWAY_URL [ROLE]

Tokens come from TELEGRAM_TOKEN / DISCORD_TOKEN. The parent SIGKILLs this process mid fan-out.
ROLE (default: all, without polling) is `run --role`'s: `sender` runs a sender alone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import warnings

import yarl

# As in tests/conftest.py: PTB reports flood control with timedelta values, without a warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

from bot.app import run_bot
from bot.config import load_config
from bot.roles import Role


def main(argv: list[str]) -> int:
    config_path, api_base, gateway, *rest = argv
    role = Role(rest[0]) if rest else Role.ALL
    Route.BASE = api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway)
    logging.basicConfig(
        level=logging.WARNING, format="crash-bot %(levelname)s %(name)s: %(message)s"
    )
    return asyncio.run(run_bot(load_config(config_path), role=role, poll=False))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
