"""What every command may use: the stores, the title lookup, the clock and the chat's language."""

from __future__ import annotations

import zoneinfo
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from bot.commands.lookup import TitleLookup
from bot.commands.registry import Caller
from bot.commands.reply import Reply
from bot.diff import ChartState, FamilyState, RecordMark
from bot.i18n import ENGLISH, Translator
from bot.live_store import LiveStore
from bot.models import ChartKey
from bot.pictures.service import PictureService
from bot.poll_report import LastPoll, last_poll_key
from bot.ports import Family, Storage, SubscriptionStore
from bot.subscriptions import ChatSettings

Clock = Callable[[], datetime]


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class CommandContext:
    storage: Storage
    subscriptions: SubscriptionStore
    titles: TitleLookup
    clock: Clock
    # The language of the chat the command runs in (the service gives each command its own).
    tr: Translator = ENGLISH
    pictures: PictureService | None = None  # None: replies without pictures
    # Live messages (/live); None where the store offers none.
    live: LiveStore | None = None
    # Called after /live changed what is owed, so the sender looks now, not at its next poll.
    live_changed: Callable[[], None] = _nothing

    def today(self, settings: ChatSettings | None = None) -> date:
        """Today in the chat's time zone (UTC without settings)."""
        zone = zoneinfo.ZoneInfo(settings.timezone if settings else "UTC")
        return self.clock().astimezone(zone).date()

    async def chart_state(self, key: ChartKey) -> ChartState | None:
        state_json = await self.storage.load_chart_state(key)
        return None if state_json is None else ChartState.from_json(state_json)

    async def chart_states(self, keys: Collection[ChartKey]) -> dict[ChartKey, ChartState]:
        """The engine's state of each of `keys` that has one, read at once."""
        found = await self.storage.load_chart_states(sorted(keys))
        return {key: ChartState.from_json(state_json) for key, state_json in found.items()}

    async def last_poll(self, source: str) -> LastPoll | None:
        """When the poller last asked `source` for charts (None: never, e.g. imported data)."""
        return LastPoll.from_json(await self.storage.get_meta(last_poll_key(source)))

    async def family_record(self, family: Family) -> RecordMark | None:
        """Who holds the most-countries-at-#1 record of a chart family, if anyone."""
        family_json = await self.storage.load_family_state(family)
        return None if family_json is None else FamilyState.from_json(family_json).record


# One command's code: the arguments (checked against the registry) and who asks → the reply.
Handler = Callable[[CommandContext, Mapping[str, str], Caller], Awaitable[Reply]]
