"""What SqliteStorage writes for a batch, built from its charts and events: no I/O.

Split from storage/sqlite.py so that it can be compiled (setup.py: mypyc does not compile that
module's async generators): these loops run once per entry or per event of every batch saved, on
the event loop's thread, and compiled code reads the fields of entries and events directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from bot.events import Event
from bot.models import Chart, ChartKey
from storage import codec

# One (title_id, title, season) as the titles table identifies it.
TitleIdentity = tuple[str, str, str | None]


def texts_joined(texts: list[bytes]) -> tuple[list[int], bytes]:
    """The 1-based byte offset of each text in the texts joined, and the texts joined (for a
    `text_at` column of sqlite._json_rows; substr counts bytes in a BLOB)."""
    offsets: list[int] = []
    offset = 1
    for text in texts:
        offsets.append(offset)
        offset += len(text)
    return offsets, b"".join(texts)


def json_text(rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows of str, int, float and None as the JSON text sqlite._json_rows reads, in UTF-8.

    Columns that hold JSON (entries, states, events) go in as strings. Nested arrays and objects
    would spare the event loop's thread a second escaping, but SQLite then parses and re-renders
    them for every column it extracts: its thread's CPU went from ~4 to ~6.5 s in a bench replay
    and the diff waited for the saves (wall ~10 s -> ~12 s, per-thread CPU from /proc)."""
    return orjson.dumps(rows)


@lru_cache(maxsize=65536)
def title_token(title_id: str) -> str:
    """The search token of a title_id in chart_titles: a hash, because FTS5 splits text into
    words and title_ids are text. A collision only costs a wasted look: readers compare the
    entries' title_id too."""
    return hashlib.blake2b(title_id.encode("utf-8"), digest_size=8).hexdigest()


def title_mentions(charts: Iterable[Chart]) -> dict[TitleIdentity, int]:
    """How many entries of `charts` name each title."""
    counts: dict[TitleIdentity, int] = {}
    for chart in charts:
        for entry in chart.entries:
            identity = (entry.title_id, entry.title, entry.season)
            counts[identity] = counts.get(identity, 0) + 1
    return counts


def title_tokens(chart: Chart) -> str:
    return " ".join([title_token(entry.title_id) for entry in chart.entries])


class EventRun(NamedTuple):
    """Consecutive events of a batch from one chart and period: stored as one group.

    A NamedTuple: a replay builds one per chart, and a frozen dataclass costs twice as much."""

    key: tuple[str, str, str, str, str]
    period: str
    start: int  # position of the first event in the batch, to return new events in batch order
    events: list[Event]

    def encoded(self) -> bytes:
        return codec.encode_events_utf8(self.events)


def event_runs(events: Sequence[Event]) -> list[EventRun]:
    """The events cut where their chart or period changes, in order."""
    runs: list[EventRun] = []
    last: tuple[ChartKey, date] | None = None  # of the run being built
    run_events: list[Event] = []
    for index, event in enumerate(events):
        chart_period = (event.chart, event.period)
        if chart_period == last:
            run_events.append(event)
            continue
        run_events = [event]
        runs.append(
            EventRun(codec.key_columns(event.chart), event.period.isoformat(), index, run_events)
        )
        last = chart_period
    return runs
