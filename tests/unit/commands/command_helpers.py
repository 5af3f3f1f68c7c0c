"""What the command tests share: a fixed clock, a group member and typed commands."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.commands import Caller, CommandService, Reply
from bot.subscriptions import Destination

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
