"""What the command tests share: a fixed clock, a group member and typed commands."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.commands import Caller, CommandRateLimiter, CommandService, Reply
from bot.models import Chart
from bot.sources import netflix
from bot.subscriptions import Destination
from storage.memory import MemoryBackend
from storage.memory.subscriptions import MemorySubscriptionStore
from tests.chat_fixtures import load_chat_history

# Three days after the last week of the fixture (week ending 2021-11-21) was published.
NOW = datetime(2021, 11, 24, 12, 0, tzinfo=UTC)
GROUP = Destination("telegram", "-100")


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def member(admin: bool = True, *, calls: list[str] | None = None, **kwargs: Any) -> Caller:
    """Someone in GROUP; `calls` records each admin check the service makes."""

    async def check_admin() -> bool:
        if calls is not None:
            calls.append("checked")
        return admin

    return Caller("telegram", "7", GROUP, check_admin=check_admin, **kwargs)


async def run(service: CommandService, text: str, caller: Caller | None = None) -> Reply:
    """A command as typed: "/top10 KR"."""
    name, _, rest = text.lstrip("/").partition(" ")
    return await service.execute_text(name, rest, caller or member())


NETFLIX_FIXTURES = Path(__file__).parents[2] / "fixtures" / "netflix"


def charts_2022() -> list[Chart]:
    """Weeks 2022-02-13 … 2022-02-27: the worldwide lists and AR, JP, KR, US ("All of Us Are
    Dead" at its peak)."""
    countries = NETFLIX_FIXTURES / "all-weeks-countries.tsv"
    world = NETFLIX_FIXTURES / "all-weeks-global.2021-11_2023-05-header.tsv"
    with countries.open(encoding="utf-8") as c, world.open(encoding="utf-8") as w:
        return netflix.sorted_by_period([*netflix.parse_countries(c), *netflix.parse_global(w)])


async def service_with(charts: list[Chart], clock: Clock) -> CommandService:
    """A service over these charts alone, run through the real pipeline into memory."""
    storage = MemoryBackend()
    await storage.migrate()
    await load_chat_history(storage, charts)
    generous = CommandRateLimiter(burst=1000, per_seconds=1)
    return CommandService(storage, MemorySubscriptionStore(), clock=clock, rate_limiter=generous)
