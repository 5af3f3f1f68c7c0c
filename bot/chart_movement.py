"""How each title of a chart moved since the chart before it: one reading for /top10, the live
messages (which show /top10's text) and the chart cards (which draw it), so all three agree.

Pure: the previous chart and the returning titles come from bot.chart_history.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum

from bot.models import Chart, Entry


class Movement(StrEnum):
    UP = "up"
    DOWN = "down"
    SAME = "same"
    NEW = "new"  # the source says it is the title's first period in the Top 10
    BACK = "back"  # not in the previous chart, but charted before
    UNKNOWN = "unknown"  # no previous chart to compare with


def entry_movements(
    chart: Chart, previous: Chart | None, returning: Collection[str] = ()
) -> list[tuple[Entry, Movement, int]]:
    """Each entry of `chart` by rank, with how it moved since `previous` and by how many places.
    `returning`: title ids absent from `previous` that were in this chart before (re-entries,
    marked apart from debuts)."""
    before = {e.title_id: e.rank for e in previous.entries} if previous else {}
    moves = []
    for entry in sorted(chart.entries, key=lambda e: e.rank):
        movement, places = movement_between(
            before.get(entry.title_id),
            entry.rank,
            has_previous=previous is not None,
            returning=entry.title_id in returning,
        )
        moves.append((entry, movement, places))
    return moves


def movement_between(
    previous_rank: int | None, rank: int, *, has_previous: bool, returning: bool
) -> tuple[Movement, int]:
    """How a title moved since the previous chart, and by how many places. `returning`: absent
    from the previous chart but in this chart before it (a re-entry, not a debut)."""
    if not has_previous:
        return Movement.UNKNOWN, 0
    if previous_rank is None:
        return (Movement.BACK if returning else Movement.NEW), 0
    if previous_rank > rank:
        return Movement.UP, previous_rank - rank
    if previous_rank < rank:
        return Movement.DOWN, rank - previous_rank
    return Movement.SAME, 0


def movement_mark(movement: Movement, places: int, *, new: str, back: str) -> str:
    """A movement in signs, ▲3, ▼2 or =, and in the words given for a debut and a re-entry
    (each reader has its own: /top10 "🆕" and "↩ back", a card "NEW" and "BACK"); "" without a
    previous chart."""
    match movement:
        case Movement.UP:
            return f"▲{places}"
        case Movement.DOWN:
            return f"▼{places}"
        case Movement.SAME:
            return "="
        case Movement.NEW:
            return new
        case Movement.BACK:
            return back
    return ""
