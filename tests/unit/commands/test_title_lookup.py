"""The title index: typos find their show, a stale index is refreshed in the background (built in
a worker thread) while commands are answered from the one in hand."""

from __future__ import annotations

import threading
from datetime import date

import pytest

from bot.commands import TITLE_CACHE_SECONDS, TitleLookup
from bot.commands import lookup as lookup_module
from bot.commands.title_match import TitleMatcher
from bot.i18n import ENGLISH
from bot.models import Chart, ChartKey, Entry, make_title_id
from bot.ports import Batch, TitleHit
from storage.memory import MemoryBackend

KR_TV = ChartKey("flixpatrol", "netflix", "KR", "TV Shows", "daily")


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def top(period: date, *shows: tuple[str, str | None]) -> Chart:
    entries = tuple(
        Entry(rank, make_title_id(title, season), title, season)
        for rank, (title, season) in enumerate(shows, start=1)
    )
    return Chart(KR_TV, period, entries)


async def store_with(*shows: tuple[str, str | None]) -> MemoryBackend:
    store = MemoryBackend()
    await store.save_batch(Batch(accepted=[top(date(2026, 3, 1), *shows)]), queue_deliveries=False)
    return store


SHOWS = (
    ("Squid Game", "Season 1"),
    ("Squid Game: The Challenge", None),
    ("The Glory", "Part 2"),
    ("오징어 게임", None),
    ("Extraordinary Attorney Woo", None),
)


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("Sqiud Game", "Squid Game"),  # two letters swapped
        ("squid gme", "Squid Game"),  # one dropped
        ("The Glorry", "The Glory"),  # one doubled
        ("the glory: part 2", "The Glory"),  # a season's spelling, in lower case
        ("오징어 게임", "오징어 게임"),
        ("extraordinary atorney", "Extraordinary Attorney Woo"),  # half typed, with a typo
    ],
)
async def test_a_typed_title_with_a_typo_finds_its_show(typed: str, found: str) -> None:
    lookup = TitleLookup(await store_with(*SHOWS), Monotonic())

    show = await lookup.resolve_show(typed, ENGLISH)

    assert show.name == found


async def test_an_unclear_title_offers_choices_instead_of_guessing() -> None:
    lookup = TitleLookup(await store_with(*SHOWS), Monotonic())

    search = await lookup.search("squid")

    assert search.show is None
    assert {show.name for show in search.choices} >= {"Squid Game", "Squid Game: The Challenge"}


async def test_a_stale_index_answers_while_a_worker_thread_builds_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = await store_with(("Squid Game", "Season 1"))
    clock = Monotonic()
    lookup = TitleLookup(store, clock)
    built_on: list[int] = []
    build = lookup_module._build_title_index

    def recording_build(*args: object, **kwargs: object) -> object:
        built_on.append(threading.get_ident())
        return build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(lookup_module, "_build_title_index", recording_build)
    assert (await lookup.resolve_show("squid game", ENGLISH)).name == "Squid Game"
    await store.save_batch(
        Batch(accepted=[top(date(2026, 3, 2), ("The Glory", None))]), queue_deliveries=False
    )

    # Within the cache time nothing is read again.
    clock.now += TITLE_CACHE_SECONDS / 2
    assert (await lookup.search("the glory")).show is None
    await lookup.settled()
    assert (await lookup.search("the glory")).show is None
    # Past it, the command is answered from the index in hand while the next one is built…
    clock.now += TITLE_CACHE_SECONDS
    assert (await lookup.search("the glory")).show is None
    await lookup.settled()
    # … and the next command has it.
    show = (await lookup.search("the glory")).show
    assert show is not None and show.name == "The Glory"
    assert len(built_on) == 2
    assert threading.get_ident() not in built_on
    # A refresh that finds no new title keeps the index it has, without building one, and
    # without reading the titles: the store's version number says nothing changed.
    reads: list[int] = []
    read_titles = store.all_titles

    async def counted() -> list[TitleHit]:
        reads.append(1)
        return await read_titles()

    monkeypatch.setattr(store, "all_titles", counted)
    clock.now += TITLE_CACHE_SECONDS + 1
    await lookup.search("the glory")
    await lookup.settled()
    clock.now += TITLE_CACHE_SECONDS / 2
    await lookup.search("the glory")
    await lookup.settled()
    assert len(built_on) == 2
    assert reads == []


class FailingTitles(MemoryBackend):
    """A store whose title list cannot be read after the first time (and says at every look
    that it changed)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.looks = 0

    async def titles_version(self) -> int:
        self.looks += 1
        return self.looks

    async def all_titles(self) -> list[TitleHit]:
        self.reads += 1
        if self.reads > 1:
            raise OSError("database is locked")
        return await super().all_titles()


async def test_a_failed_refresh_keeps_the_old_index_until_the_next_cache_period() -> None:
    store = FailingTitles()
    await store.save_batch(
        Batch(accepted=[top(date(2026, 3, 1), ("Squid Game", None))]), queue_deliveries=False
    )
    clock = Monotonic()
    lookup = TitleLookup(store, clock)
    assert (await lookup.resolve_show("squid game", ENGLISH)).name == "Squid Game"

    clock.now += TITLE_CACHE_SECONDS + 1
    assert (await lookup.resolve_show("squid game", ENGLISH)).name == "Squid Game"
    await lookup.settled()
    assert (await lookup.resolve_show("squid game", ENGLISH)).name == "Squid Game"
    await lookup.settled()

    assert store.reads == 2  # not read again at every command after the failure


def test_a_matcher_reusing_foldings_ranks_as_a_fresh_one() -> None:
    old_names = ["Squid Game", "Squid Game: Season 1", "The Glory", "오징어 게임"]
    new_names = [*old_names[1:], "Squid Game: The Challenge", "Glory Days"]
    reused = TitleMatcher(new_names, known=TitleMatcher(old_names).foldings())
    fresh = TitleMatcher(new_names)

    for query in ("sqiud game", "glory", "오징어", "the challenge", "squid game season 1"):
        assert reused.closest(query, 5) == fresh.closest(query, 5)
    assert reused.foldings() == fresh.foldings()
