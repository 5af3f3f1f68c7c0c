"""Cutting text to a platform's message length, written once for every platform.

The length is measured the way the platform counts it (`Measure`, a notifier's `text_length`):
Telegram counts UTF-16 units, Discord characters of the escaped text. Text is cut between lines
where possible, at spaces when one line alone is too long, and hard only inside a word longer
than a message.
"""

from __future__ import annotations

from collections.abc import Callable

Measure = Callable[[str], int]


def wrap_line(line: str, budget: int, measure: Measure) -> list[str]:
    """Cut one over-long line at spaces (hard cut when a word alone is too long)."""
    if measure(line) <= budget:
        # Nearly every line fits: one measure, not one per word (Discord's measure escapes
        # the text, and a claim builds thousands of digests on the event loop).
        return [line]
    pieces: list[str] = []
    current = ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if measure(candidate) <= budget:
            current = candidate
            continue
        if current:
            pieces.append(current)
        while measure(word) > budget:
            cut = min(len(word), budget)
            while cut > 1 and measure(word[:cut]) > budget:
                cut -= 1
            pieces.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        pieces.append(current)
    return pieces


def split_text(
    text: str, limit: int, measure: Measure = len, *, first_limit: int | None = None
) -> list[str]:
    """Cut text into messages of at most `limit` (as `measure` counts), between lines if possible.

    `first_limit`: the first message is shorter (a photo's caption), the others `limit`.
    Used for what is not a digest (command replies, operator alerts); digests pack whole lines
    themselves (bot.delivery.digest) with the same line cutting."""
    if limit < 1 or (first_limit is not None and first_limit < 1):
        raise ValueError("limit must be positive")
    narrowest = min(limit, first_limit or limit)
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        pieces = wrap_line(line, narrowest, measure) if measure(line) > narrowest else [line]
        for piece in pieces:
            candidate = f"{current}\n{piece}" if current else piece
            room = first_limit if first_limit is not None and not chunks else limit
            if current and measure(candidate) > room:
                chunks.append(current)
                current = piece
            else:
                current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks
