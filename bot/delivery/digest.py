"""Digests, the pure part of delivery: which events a chat gets in one message, and how.

- One message per chat per burst: every event claimed together for one destination becomes ONE
  digest, most important first, cut into several messages only where the platform's length limit
  forces it, and only between lines.
- A title with news from several charts (a chat following the title, or a chart family across
  countries) becomes one card (bot.delivery.cards) instead of a line per chart; a message holding
  a card carries its "All countries" button.
- A catch-up (the bot was down) folds old periods into one summary instead of paging anyone
  about each of them.
- Every message carries an idempotency key derived from its deliveries, so a message sent again
  after a crash is the same message (Discord drops the repeat).
- The burst of a followed chart carries that chart's card as a picture (bot.delivery.burst_picture
  picks the chart): on the first message, which is then cut to the platform's caption limit. The
  part holds a reference to the chart, not the image, so the digest stays pure and is cut the same
  way after a crash; the sender draws (or takes from the cache) the picture when it sends.

Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from bot.catchup import CATCHUP_HIGHLIGHTS, CatchupSummary, event_age
from bot.commands.reply import Button
from bot.delivery.cards import build_cards
from bot.delivery.text import Measure, wrap_line
from bot.events import Event
from bot.i18n import Translator
from bot.pictures.model import ChartRef
from bot.ports import Delivery
from bot.render import event_line

# Room kept for the header line of a digest part ("12 chart updates (2/3)"). Fixed, so that the
# way a digest is cut does not depend on how many parts it has: after a crash the parts still to
# send are cut exactly as before and keep their idempotency keys.
HEADER_BUDGET = 48
BULLET = "• "
# Discord allows a nonce of at most 25 characters.
MAX_IDEMPOTENCY_KEY = 25
# Buttons under one message: one row on Discord (5 buttons).
MAX_BUTTONS = 5

# -- which events -------------------------------------------------------------------------------


def digest_order(events: Iterable[Event]) -> list[Event]:
    """Most important first; ties by chart, then rank, then key, so the order is stable."""
    return sorted(
        events,
        key=lambda e: (-e.importance, e.chart, e.period, e.rank or 0, e.key),
    )


# -- digests ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigestPart:
    """One message of a digest and the deliveries it carries."""

    delivery_ids: tuple[int, ...]
    text: str
    idempotency_key: str
    buttons: tuple[Button, ...] = ()
    picture: ChartRef | None = None  # the chart whose card goes with this message


def idempotency_key(delivery_ids: Iterable[int], salt: str = "") -> str:
    """Derived from the delivery ids a message carries: the same message always gets the same key,
    a message with other deliveries never does. `<first id>-<digest of all ids>`, ≤ 25 chars."""
    ids = sorted(set(delivery_ids))
    if not ids:
        raise ValueError("a message carries at least one delivery")
    head = str(ids[0])
    room = MAX_IDEMPOTENCY_KEY - len(head) - 1
    material = ",".join(map(str, ids)) + salt
    digest = hashlib.blake2b(material.encode(), digest_size=16).hexdigest()
    return f"{head}-{digest[: max(room, 4)]}"[-MAX_IDEMPOTENCY_KEY:]


def _header(total_events: int, part: int, parts: int, tr: Translator, heading: str = "") -> str:
    header = tr.n_("{n} chart update", "{n} chart updates", total_events)
    named = f"{heading}: {header}" if heading else header
    return named + (f" ({part}/{parts})" if parts > 1 else "")


def build_digest(
    deliveries: Sequence[Delivery],
    limit: int,
    measure: Measure,
    tr: Translator,
    *,
    catchup_max_age: timedelta | None = None,
    heading: str = "",
    picture: ChartRef | None = None,
    caption_limit: int | None = None,
) -> list[DigestPart]:
    """The messages for one destination's deliveries: one if it fits, else as few as needed.

    A single event is sent as its line alone; several get a header line and one bullet each,
    most important first. Lines are never cut unless one alone exceeds the limit.

    Events whose period had ended more than `catchup_max_age` before they were queued (a backfill
    after downtime) are not listed one by one: they fold into one catch-up summary (the poller's
    `CatchupSummary`), after the fresh news and in the same message when it fits. Age is measured
    at queueing, so a message sent again after a crash is cut exactly as before. Text is in the
    chat's language (`tr`).

    `heading` names the digest in its header line ("Daily digest: 12 chart updates").
    `picture` goes with the first message, whose text is then at most `caption_limit`.
    """
    first_limit = min(limit, caption_limit) if picture is not None and caption_limit else limit
    if first_limit <= HEADER_BUDGET + 8:
        raise ValueError(f"a text limit of {first_limit} leaves no room for a digest")
    parts = _digest_parts(deliveries, limit, first_limit, measure, tr, catchup_max_age, heading)
    if picture is not None:
        parts[0] = replace(parts[0], picture=picture)
    return parts


def _digest_parts(
    deliveries: Sequence[Delivery],
    limit: int,
    first_limit: int,
    measure: Measure,
    tr: Translator,
    catchup_max_age: timedelta | None,
    heading: str,
) -> list[DigestPart]:
    # Units are cut to fit the first message's budget, and each message is packed to its own.
    budget = first_limit - HEADER_BUDGET
    budgets = (first_limit - HEADER_BUDGET, limit - HEADER_BUDGET)
    fresh_ids: dict[str, list[int]] = {}
    fresh: dict[str, Event] = {}
    old_ids: list[int] = []
    old: dict[str, Event] = {}
    for delivery in deliveries:
        event = delivery.event
        if catchup_max_age is not None and event_age(event, delivery.queued_at) > catchup_max_age:
            old_ids.append(delivery.id)
            old.setdefault(event.key, event)
        else:
            fresh_ids.setdefault(event.key, []).append(delivery.id)
            fresh.setdefault(event.key, event)
    ordered = digest_order(fresh.values())
    cards, ordered = build_cards(ordered, tr)
    summary = _catchup_text(list(old.values()), budget, measure, tr) if old else None

    if summary is None and not cards and len(ordered) == 1:
        line = event_line(ordered[0], tr)
        only = tuple(fresh_ids[ordered[0].key])
        if measure(line) <= first_limit:
            return [DigestPart(only, line, idempotency_key(only))]
    if summary is not None and not ordered and not cards:
        return [DigestPart(tuple(old_ids), summary, idempotency_key(old_ids))]
    if (
        summary is None
        and not ordered
        and len(cards) == 1
        and measure(cards[0].text) <= first_limit
    ):
        only = tuple(i for event in cards[0].events for i in fresh_ids[event.key])
        return [DigestPart(only, cards[0].text, idempotency_key(only), (cards[0].button,))]

    # Units are packed whole, in order: a card, a piece of an event's line, or the catch-up
    # summary.
    units: list[_Unit] = []
    for card in cards:
        card_ids = [i for event in card.events for i in fresh_ids[event.key]]
        for piece in _card_pieces(card.text, budget, measure):
            units.append(_Unit(piece, [], card_ids))
        units[-1] = _Unit(units[-1].text, card_ids, card_ids, card.button)
    for event in ordered:
        event_ids = fresh_ids[event.key]
        pieces = wrap_line(BULLET + event_line(event, tr), budget, measure)
        for index, piece in enumerate(pieces):
            # An event is marked sent with the part that holds the end of its line.
            done = event_ids if index == len(pieces) - 1 else []
            units.append(_Unit(piece, done, event_ids))
    if summary is not None:
        units.append(_Unit(summary, old_ids, old_ids))

    parts: list[_Part] = []
    current = _Part()
    for unit in units:
        size = measure(unit.text) + 1  # the newline before it
        if current.lines and current.used + size > budgets[1 if parts else 0]:
            parts.append(current)
            current = _Part()
        current.lines.append(unit.text)
        current.used += size
        current.ids.extend(unit.ids)
        current.touched.extend(unit.touched)
        if unit.button is not None:
            current.buttons.append(unit.button)
    parts.append(current)

    messages: list[DigestPart] = []
    for number, part in enumerate(parts, start=1):
        header = _header(len(cards) + len(ordered), number, len(parts), tr, heading)
        text = "\n".join([header, *part.lines])
        if part.ids:
            key = idempotency_key(part.ids)
        else:
            # Only the start of an over-long line: nothing to mark, but a key of its own.
            key = idempotency_key(part.touched, salt=f"/{number}")
        buttons = tuple(part.buttons[:MAX_BUTTONS])
        messages.append(DigestPart(tuple(part.ids), text, key, buttons))
    return messages


def resumed_digest(
    done: Sequence[Delivery],
    deliveries: Sequence[Delivery],
    limit: int,
    measure: Measure,
    tr: Translator,
    *,
    catchup_max_age: timedelta | None = None,
    heading: str = "",
    picture: ChartRef | None = None,
    caption_limit: int | None = None,
) -> list[DigestPart]:
    """The messages still to send of a digest whose `done` deliveries were recorded before (a
    group resumed after a restart; none for a new one): the digest is cut from all of its rows,
    so that its parts keep their numbers ("(3/5)") and idempotency keys, and the parts recorded
    are left out (parts_left)."""

    def cut(rows: Sequence[Delivery]) -> list[DigestPart]:
        return build_digest(
            rows,
            limit,
            measure,
            tr,
            catchup_max_age=catchup_max_age,
            heading=heading,
            picture=picture,
            caption_limit=caption_limit,
        )

    if not done:
        return cut(deliveries)
    # Nothing left of the cut as it was can only mean the cutting changed between versions:
    # then what is open goes out as a digest of its own.
    return parts_left(cut([*done, *deliveries]), {d.id for d in done}) or cut(deliveries)


def parts_left(parts: Sequence[DigestPart], done: Collection[int]) -> list[DigestPart]:
    """The parts of a digest still to send, when the deliveries `done` were recorded before: a
    digest resumed after a restart is rebuilt from all of its rows (so every part keeps its
    number and its idempotency key), and goes on from its first part carrying a delivery not
    recorded — preceded by the parts carrying none just before it (the start of an over-long
    line whose end that part holds: whether they went out is not known). A later part whose
    deliveries were all recorded (one the platform rejected) is skipped."""
    if not done:
        return list(parts)
    first = next(
        (i for i, part in enumerate(parts) if not set(part.delivery_ids).issubset(done)),
        len(parts),
    )
    while first > 0 and not parts[first - 1].delivery_ids:
        first -= 1
    return [
        part
        for part in parts[first:]
        if not part.delivery_ids or not set(part.delivery_ids).issubset(done)
    ]


def _card_pieces(text: str, budget: int, measure: Measure) -> list[str]:
    """A card as one unit when it fits a message (it nearly always does), else its lines."""
    if measure(text) <= budget:
        return [text]
    return [piece for line in text.split("\n") for piece in wrap_line(line, budget, measure)]


def _catchup_text(events: list[Event], budget: int, measure: Measure, tr: Translator) -> str:
    """The catch-up summary, with as many highlights as fit in one message."""
    summary = CatchupSummary(tuple(events))
    for highlights in range(CATCHUP_HIGHLIGHTS, -1, -1):
        text = summary.text(tr, highlights)
        if measure(text) <= budget:
            return text
    return "\n".join(wrap_line(summary.text(tr, 0).replace("\n", " "), budget, measure)[:1])


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    ids: list[int]  # deliveries done once this unit is sent
    touched: list[int]  # deliveries this unit shows part of
    button: Button | None = None  # a card's, under the message holding the card's end


@dataclass(slots=True)
class _Part:
    lines: list[str] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    touched: list[int] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    used: int = 0
