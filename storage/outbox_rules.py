"""Rules both outbox stores follow, so that they group and order deliveries the same way."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.ports import Delivery


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
