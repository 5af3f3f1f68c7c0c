"""/live: which chart becomes live where, who may start or stop one, and the limit per chat."""

from __future__ import annotations

from bot.commands import Caller, CommandRateLimiter, CommandService
from bot.commands.live import MAX_LIVE_PER_CHAT
from bot.models import ChartKey
from bot.subscriptions import Destination
from storage.memory import MemoryBackend
from tests.unit.commands.command_helpers import GROUP, Clock, member, run

KR_TV = ChartKey("netflix", "netflix", "KR", "TV", "weekly")
KR_FILMS = ChartKey("netflix", "netflix", "KR", "Films", "weekly")


def live_service(storage: MemoryBackend) -> CommandService:
    generous = CommandRateLimiter(burst=1000, per_seconds=1)
    return CommandService(
        storage, storage.subscriptions, clock=Clock(), rate_limiter=generous, live=storage.live
    )


async def live_keys(storage: MemoryBackend, where: Destination = GROUP) -> list[ChartKey]:
    return [message.key for message in await storage.live.live_of(where)]


async def test_live_starts_the_chart_top10_would_show_and_wakes_the_sender(
    storage: MemoryBackend,
) -> None:
    service = live_service(storage)
    woken: list[str] = []
    service.on_live_change = lambda: woken.append("now")
    reply = await run(service, "/live korea")
    assert reply.ok
    assert reply.title == "Live Top 10 in this chat: Netflix · South Korea · TV"
    assert "edit that same message every new week" in reply.lines[0]
    assert await live_keys(storage) == [KR_TV]
    assert woken == ["now"]

    again = await run(service, "/live KR tv")
    assert again.title == "Already live in this chat: Netflix · South Korea · TV"
    assert "if it was deleted, I post it again now" in again.lines[0]
    assert await live_keys(storage) == [KR_TV] and woken == ["now", "now"]

    films = await run(service, "/live KR films")
    assert films.ok and await live_keys(storage) == [KR_TV, KR_FILMS]


async def test_only_admins_start_or_stop_live_messages_in_groups(storage: MemoryBackend) -> None:
    service = live_service(storage)
    refused = await run(service, "/live KR", member(admin=False))
    assert not refused.ok and refused.title == "Not allowed"
    await run(service, "/live KR")
    assert not (await run(service, "/live off", member(admin=False))).ok
    assert await live_keys(storage) == [KR_TV]
    # In a private chat nobody else is asked.
    private = Caller("telegram", "77", Destination("telegram", "77"), private=True)
    assert (await run(service, "/live KR", private)).ok


async def test_a_chat_has_at_most_five_live_messages(storage: MemoryBackend) -> None:
    service = live_service(storage)
    for typed in ("KR", "JP", "US", "GB", "DE"):
        assert (await run(service, f"/live {typed}")).ok, typed
    full = await run(service, "/live world")
    assert not full.ok
    assert full.title == f"This chat has {MAX_LIVE_PER_CHAT} live Top 10s already"
    assert "/live off" in full.lines[0]
    assert "Netflix · South Korea · TV" in full.suggestions
    assert len(await live_keys(storage)) == MAX_LIVE_PER_CHAT  # nothing changed
    # A topic of the same group counts with it.
    topic = Caller("telegram", "7", Destination(GROUP.platform, GROUP.chat_id, "9"))
    assert not (await run(service, "/live world", topic)).ok


async def test_stop_some_or_all(storage: MemoryBackend) -> None:
    service = live_service(storage)
    for typed in ("KR", "KR films", "JP"):
        await run(service, f"/live {typed}")
    stopped = await run(service, "/live stop KR tv")
    assert stopped.title == "Stopped 1 live Top 10"
    assert stopped.lines == ("Netflix · South Korea · TV",)
    assert await live_keys(storage) == [
        KR_FILMS,
        ChartKey("netflix", "netflix", "JP", "TV", "weekly"),
    ]
    nothing = await run(service, "/live stop US")
    assert not nothing.ok and nothing.title == "No live Top 10 in this chat matches that"
    assert set(nothing.suggestions) == {"Netflix · South Korea · Films", "Netflix · Japan · TV"}
    everything = await run(service, "/live off")
    assert everything.title == "Stopped 2 live Top 10s"
    assert await live_keys(storage) == []
    none_left = await run(service, "/live off")
    assert not none_left.ok and none_left.title == "No live Top 10 in this chat"


async def test_bad_input_gets_a_clear_reply_and_changes_nothing(storage: MemoryBackend) -> None:
    service = live_service(storage)
    unknown = await run(service, "/live atlantis")
    assert unknown.title == "Unknown region 'atlantis'"
    missing = await run(service, "/live FR")
    assert missing.title == "No chart stored for France"
    no_list = await run(service, "/live KR kids tv")
    assert no_list.title == "No Kids TV chart for South Korea"
    switch = await service.execute("live", {"region": "KR", "action": "pause"}, member())
    assert switch.title == "Not start or stop: 'pause'"
    cannot_post = await run(service, "/live KR", member(bot_can_post=False))
    assert cannot_post.title == "I cannot post here"
    assert await live_keys(storage) == []


async def test_without_a_live_store_it_says_so(service: CommandService) -> None:
    reply = await run(service, "/live KR")
    assert not reply.ok and reply.title == "Live Top 10s are not available here"


async def test_a_korean_chat_gets_its_live_replies_in_korean(storage: MemoryBackend) -> None:
    service = live_service(storage)
    await run(service, "/settings language=ko")
    started = await run(service, "/live KR")
    assert started.language == "ko"
    assert started.title == "이 채팅방에서 라이브 TOP 10 시작: Netflix · 대한민국 · TV"
    stopped = await run(service, "/live off")
    assert stopped.title == "라이브 TOP 10 1개를 멈췄어요"
