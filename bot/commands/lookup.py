"""Finding a show from what a user typed: one title index shared by /title, /subscribe and
autocomplete, read from storage and reused for a while.

The index is built off the event loop (a worker thread) and refreshed in the background: a
command that finds it older than TITLE_CACHE_SECONDS starts a refresh and is answered from the
index it has, so no command waits for a rebuild (tens of thousands of titles took ~0.4 s) and the
chat adapters' heartbeats never stall behind one. A refresh folds only the titles the previous
index did not know.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

from bot.commands.aliases import TitleAliases
from bot.commands.reply import ArgumentError, Reply, error
from bot.commands.title_match import Scored, TitleMatcher, is_clear_winner
from bot.commands.untrusted import quoted
from bot.i18n import Translator
from bot.models import normalise_title
from bot.ports import Storage, TitleHit
from bot.render import display_title
from bot.subscriptions import TITLE_REF_PREFIX, title_ref

log = logging.getLogger(__name__)

# How long the title list used by /title and autocomplete is reused before it is read again.
TITLE_CACHE_SECONDS = 120.0
# At most this many shows are offered when a typed title names none clearly.
MAX_TITLE_CHOICES = 5


def fuzzy_matches(
    query: str, choices: Sequence[str], limit: int, cutoff: float = 60.0
) -> list[tuple[str, float, int]]:
    """(choice, score 0–100, index in `choices`) of the choices closest to `query`, best first."""
    return process.extract(
        query,
        list(choices),
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        limit=limit,
        score_cutoff=cutoff,
    )


def fuzzy(query: str, choices: Sequence[str], limit: int, cutoff: float = 60.0) -> list[str]:
    """The choices closest to `query`, best first."""
    return [choice for choice, _score, _index in fuzzy_matches(query, choices, limit, cutoff)]


@dataclass(frozen=True, slots=True)
class Show:
    """Every stored title (seasons, sources) that shares one show title."""

    norm: str
    name: str
    hits: tuple[TitleHit, ...]

    @property
    def title_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(hit.title_id for hit in self.hits))


@dataclass(frozen=True, slots=True)
class TitleSearch:
    """What a typed title names: one show, or (when it names none clearly) the closest ones."""

    show: Show | None
    choices: tuple[Show, ...] = ()


@dataclass(slots=True)
class _TitleIndex:
    shows: dict[str, Show]  # by normalised show title
    names: list[str]  # display names, for fuzzy matching, in the order of `keys`
    keys: list[str]  # the show of each name
    refs: dict[str, str]  # title_ref → normalised show title
    spellings: dict[str, str]  # normalised spelling of each name → its show
    hits: tuple[TitleHit, ...]  # what it was built from
    norms: dict[str, str]  # each title and name → its normalised form
    loaded_at: float
    matcher: TitleMatcher  # over `names`
    version: int  # the store's titles_version() when `hits` were read


def _build_title_index(
    hits: tuple[TitleHit, ...],
    loaded_at: float,
    version: int,
    aliases: TitleAliases,
    previous: _TitleIndex | None = None,
) -> _TitleIndex:
    """The index of `hits` (run in a worker thread). What `previous` already worked out — each
    text's normalised form, each name's folding — is reused: a refresh that finds a few new
    titles among tens of thousands does a few titles' work."""
    norms = dict(previous.norms) if previous is not None else {}

    def norm_of(text: str) -> str:
        found = norms.get(text)
        if found is None:
            found = norms[text] = normalise_title(text)
        return found

    grouped: dict[str, list[TitleHit]] = {}
    for hit in hits:
        grouped.setdefault(norm_of(hit.title), []).append(hit)
    shows: dict[str, Show] = {}
    names: list[str] = []
    keys: list[str] = []
    for norm, members in grouped.items():
        if not norm:
            continue
        show = Show(norm, members[0].title, tuple(members))
        shows[norm] = show
        spellings = {show.name, *(display_title(h.title, h.season) for h in members)}
        for spelling in sorted(spellings):
            names.append(spelling)
            keys.append(norm)
    # An alias is one more spelling of the show its title names (fuzzy matches and
    # autocomplete find it too); an alias of a title not stored yet waits for it.
    by_spelling = {norm_of(name): key for name, key in zip(names, keys, strict=True)}
    for alias, title in aliases:
        key = by_spelling.get(norm_of(title))
        if key is not None:
            names.append(alias)
            keys.append(key)
    refs = {title_ref(norm): norm for norm in shows}
    spelled: dict[str, str] = {}
    for name, key in zip(names, keys, strict=True):
        spelled.setdefault(norm_of(name), key)
    known = previous.matcher.foldings() if previous is not None else None
    matcher = TitleMatcher(names, known=known)
    return _TitleIndex(shows, names, keys, refs, spelled, hits, norms, loaded_at, matcher, version)


class TitleLookup:
    """The stored titles, grouped into shows, matched exactly, by reference or fuzzily."""

    def __init__(
        self,
        storage: Storage,
        monotonic: Callable[[], float],
        aliases: TitleAliases | None = None,
    ) -> None:
        self._storage = storage
        self._monotonic = monotonic
        self._aliases = aliases or TitleAliases()
        self._index: _TitleIndex | None = None
        self._first_load = asyncio.Lock()
        self._refreshing: asyncio.Task[None] | None = None

    async def _load(self) -> _TitleIndex:
        started = self._monotonic()
        # Before the titles: a title stored in between changes the number again.
        version = await self._storage.titles_version()
        previous = self._index
        if previous is not None and version == previous.version:
            # No title added or removed (most refreshes): the index stands for another cache
            # period, without reading tens of thousands of titles to find that out.
            previous.loaded_at = started
            return previous
        hits = tuple(await self._storage.all_titles())
        if previous is not None and hits == previous.hits:
            previous.loaded_at, previous.version = started, version
            return previous
        return await asyncio.to_thread(
            _build_title_index, hits, started, version, self._aliases, previous
        )

    async def _current(self) -> _TitleIndex:
        index = self._index
        if index is None:
            # Nothing to answer from yet: the first command waits (once, for every caller).
            async with self._first_load:
                if self._index is None:
                    self._index = await self._load()
                return self._index
        stale = self._monotonic() - index.loaded_at > TITLE_CACHE_SECONDS
        if stale and (self._refreshing is None or self._refreshing.done()):
            self._refreshing = asyncio.create_task(self._refresh(index))
        return index

    async def _refresh(self, old: _TitleIndex) -> None:
        try:
            self._index = await self._load()
        except Exception:
            # The old index keeps answering; the next try waits a whole cache period.
            log.exception("refreshing the title index failed")
            old.loaded_at = self._monotonic()

    async def refresh(self) -> None:
        """Read the titles again now (after a refresh in progress, if any) and wait for it."""
        await self.settled()
        self._index = await self._load()

    async def settled(self) -> None:
        """Wait for a background refresh in progress, if any."""
        if self._refreshing is not None:
            await asyncio.shield(self._refreshing)

    async def search(self, text: str) -> TitleSearch:
        """A typed title (or a button's title reference) → the show it clearly names, or the
        closest shows to choose from."""
        index = await self._current()
        if text.startswith(TITLE_REF_PREFIX) and text in index.refs:
            return TitleSearch(index.shows[index.refs[text]])
        text = self._aliases.target(text) or text
        norm = normalise_title(text)
        if norm in index.shows:
            return TitleSearch(index.shows[norm])
        if norm in index.spellings:
            return TitleSearch(index.shows[index.spellings[norm]])
        # Best score per show: a show's seasons are spellings of one choice.
        best: dict[str, float] = {}
        for hit in await _closest(index.matcher, text, MAX_TITLE_CHOICES * 4):
            best.setdefault(index.keys[hit.index], hit.score)
        ranked = list(best.items())
        runner_up = ranked[1][1] if len(ranked) > 1 else None
        if ranked and is_clear_winner(ranked[0][1], runner_up):
            return TitleSearch(index.shows[ranked[0][0]])
        return TitleSearch(None, tuple(index.shows[key] for key, _ in ranked[:MAX_TITLE_CHOICES]))

    async def resolve_show(self, text: str, tr: Translator) -> Show:
        """The show `text` clearly names; ArgumentError with the closest titles otherwise."""
        found = await self.search(text)
        if found.show is not None:
            return found.show
        raise ArgumentError(await self.no_clear_match(text, found, tr))

    async def no_clear_match(self, text: str, found: TitleSearch, tr: Translator) -> Reply:
        """The answer when `text` names no show clearly (the choices are its suggestions)."""
        if not (await self._current()).shows:
            return error(
                tr._("No titles stored yet"), tr._("Import or poll some chart data first.")
            )
        hints = [show.name for show in found.choices]
        if not hints:
            return error(
                tr._("No title matches {text}", text=quoted(text)), tr._("Check the spelling.")
            )
        return error(
            tr._("Which title is {text}?", text=quoted(text)),
            tr._("Pick one of these:"),
            suggestions=hints,
        )

    async def closest_names(self, text: str, limit: int) -> list[str]:
        """Display names of stored titles close to `text`, best first (for autocomplete)."""
        index = await self._current()
        return [hit.name for hit in await _closest(index.matcher, text, limit)]


async def _closest(matcher: TitleMatcher, text: str, limit: int) -> list[Scored]:
    """`matcher.closest` in a worker thread: scoring tens of thousands of titles takes tens of
    milliseconds that the event loop (the chat adapters' heartbeats, other commands) need not
    wait for."""
    return await asyncio.to_thread(matcher.closest, text, limit)
