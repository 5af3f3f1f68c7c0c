"""The rules CommandService applies before any command: rate limit, arguments, admins,
and a failing command answering instead of raising."""

from __future__ import annotations

from bot.commands import Caller, CommandRateLimiter, CommandService
from bot.models import ChartKey
from storage.memory import MemoryBackend
from storage.memory.subscriptions import MemorySubscriptionStore
from tests.unit.commands.command_helpers import GROUP, member, run


async def test_subscribe_in_a_group_needs_an_admin(service: CommandService) -> None:
    calls: list[str] = []
    refused = await run(service, "/subscribe KR TV", member(admin=False, calls=calls))
    assert not refused.ok and refused.title == "Not allowed"
    assert calls == ["checked"]
    assert await service.subscriptions.subscriptions_of(GROUP) == []
    allowed = await run(service, "/subscribe KR TV", member(admin=True))
    assert allowed.ok and allowed.title == "Subscribed #1 — alerts go to this chat"
    assert allowed.lines[0] == "South Korea · TV — headlines"


async def test_private_chats_and_read_only_commands_skip_the_admin_check(
    service: CommandService,
) -> None:
    calls: list[str] = []
    private = member(admin=False, calls=calls, private=True)
    assert (await run(service, "/subscribe records", private)).ok
    assert (await run(service, "/top10 KR", member(admin=False, calls=calls))).ok
    assert calls == []


async def test_rate_limit_per_user(storage: MemoryBackend) -> None:
    moment = [0.0]
    limiter = CommandRateLimiter(burst=2, per_seconds=10, clock=lambda: moment[0])
    service = CommandService(storage, MemorySubscriptionStore(), rate_limiter=limiter)
    assert (await run(service, "/help")).ok
    assert (await run(service, "/help")).ok
    slowed = await run(service, "/help")
    assert slowed.title == "Slow down" and "5 s" in slowed.lines[0]
    someone_else = Caller("telegram", "8", GROUP)
    assert (await run(service, "/help", someone_else)).ok
    moment[0] = 5.0
    assert (await run(service, "/help")).ok


async def test_argument_rules(service: CommandService) -> None:
    long_title = await service.execute("title", {"name": "x" * 101}, member())
    assert long_title.title == "name is too long"
    missing = await service.execute("title", {}, member())
    assert missing.title == "/title needs name" and missing.lines[0] == "Usage: /title <name>"
    stranger = await service.execute("top10", {"colour": "red"}, member())
    assert stranger.title == "/top10 has no argument 'colour'"
    typo = await run(service, "/top1O KR")
    assert typo.title == "Unknown command /top1O" and "/top10" in typo.suggestions


async def test_a_failing_command_answers_instead_of_raising(storage: MemoryBackend) -> None:
    class BrokenStorage(MemoryBackend):
        async def chart_keys(self, source: str | None = None) -> list[ChartKey]:
            raise RuntimeError("disk on fire")

    service = CommandService(BrokenStorage(), MemorySubscriptionStore())
    reply = await run(service, "/top10 KR")
    assert not reply.ok and reply.title == "Something went wrong"
