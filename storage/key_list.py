"""The chart_keys table as /top10, /records and /status ask for it: sorted ChartKeys, read again
only when the table has grown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.models import ChartKey
from storage.rows import KEY_ORDER, key_of

COUNT_KEYS = "SELECT count(*) FROM chart_keys"
ALL_KEYS = f"SELECT {KEY_ORDER} FROM chart_keys"

Read = Callable[[str], Awaitable[Sequence[Sequence[Any]]]]


class ChartKeyList:
    """Keys are only ever added (charts are replaced, never deleted: migration 0010), so their
    number says whether the list read last is still whole, in this process or after another
    one (the poller) stored a new key. Counting a few hundred rows costs the database next to
    nothing; turning them into sorted ChartKeys cost every /top10 about a millisecond."""

    def __init__(self) -> None:
        self._keys: list[ChartKey] = []
        self._count = -1

    async def current(self, read: Read, source: str | None = None) -> list[ChartKey]:
        count = int((await read(COUNT_KEYS))[0][0])
        if count != self._count:
            rows = await read(ALL_KEYS)
            # The rows read, not the count before: a key added in between is in both.
            self._keys = sorted(key_of(*row) for row in rows)
            self._count = len(rows)
        if source is None:
            return list(self._keys)
        return [key for key in self._keys if key.source == source]
