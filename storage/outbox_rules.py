"""Rules both outbox stores follow, so that they group and order deliveries the same way."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.events import Event
from bot.ports import Delivery
from bot.subscriptions import ChatSettings, SubscriptionSpec, subscription_matches
from storage import codec


@dataclass(frozen=True, slots=True)
class OpenRow:
    """An open delivery as a claim sees it."""

    id: int
    destination_key: Any
    group_id: int | None
    delivery: Delivery


def choose_group(rows: Sequence[OpenRow]) -> tuple[int, list[OpenRow]]:
    """Which of one destination's due rows go out together, and their group id.

    A group that was claimed before (it may be half sent) goes out again exactly as it was, alone;
    otherwise every due row joins one new group named after its first row.
    """
    pinned = [row.group_id for row in rows if row.group_id is not None]
    if pinned:
        group_id = min(pinned)
        return group_id, [row for row in rows if row.group_id == group_id]
    ordered = sorted(rows, key=lambda row: row.id)
    return ordered[0].id, ordered


# The subscriptions of the active destinations, with what matching needs (wanted_deliveries).
ACTIVE_FILTERS = """
SELECT s.show, s.service, s.region, s.category, s.event_types, d.event_types, d.id, d.platform
FROM subscriptions AS s JOIN destinations AS d ON d.id = s.destination_id
WHERE d.active = 1
"""


def wanted_deliveries(
    filter_rows: Iterable[Sequence[Any]], new: Sequence[tuple[int, Event]]
) -> dict[tuple[int, int], str]:
    """The deliveries new events (with their ids) owe: (event id, destination id) → platform,
    from the rows of ACTIVE_FILTERS. A destination with two matching subscriptions gets one.

    Thousands of chats usually share a few filters, so the matching rules (bot.subscriptions)
    run once per distinct filter, not once per chat.
    """
    by_filter: dict[tuple[Any, ...], list[tuple[int, str]]] = {}
    for row in filter_rows:
        by_filter.setdefault(tuple(row[:6]), []).append((int(row[6]), str(row[7])))
    wanted: dict[tuple[int, int], str] = {}
    for (show, service, region, category, types, chat_types), places in by_filter.items():
        spec = SubscriptionSpec(
            show=show,
            service=service,
            region=region,
            category=category,
            event_types=codec.decode_types(types),
        )
        settings = ChatSettings(event_types=codec.decode_types(chat_types))
        for event_id, event in new:
            if subscription_matches(spec, settings, event):
                for destination_id, platform in places:
                    wanted[(event_id, destination_id)] = platform
    return wanted
