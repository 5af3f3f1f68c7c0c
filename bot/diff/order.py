"""The order of the events of one fold: by type, then rank (unranked last), title and qualifier."""

from __future__ import annotations

from bot.events import Event, EventType

_TYPE_ORDER: dict[EventType, int] = {
    event_type: position
    for position, event_type in enumerate(
        (
            EventType.NEW_NUMBER_ONE,
            EventType.LOST_NUMBER_ONE,
            EventType.CLIMBED,
            EventType.ENTERED,
            EventType.LEFT,
            EventType.NUMBER_ONE_STREAK,
            EventType.TOP10_STREAK,
            EventType.ALL_TIME_LIST,
            EventType.COUNTRIES_AT_NUMBER_ONE,
            EventType.RECORD_BROKEN,
            EventType.HOURS_MILESTONE,
        )
    )
}


def event_order(event: Event) -> tuple[int, bool, int, str, str]:
    """Sort key of an event within the events of one chart (or family) and period."""
    rank = event.rank
    return (
        _TYPE_ORDER[event.type],
        rank is None,
        rank if rank is not None else 0,
        event.title_id,
        event.qualifier,
    )
