"""Fitting text into the room a picture has for it: measured as drawn, cut with "…"."""

from __future__ import annotations

import textwrap

from matplotlib.text import Text

ELLIPSIS = "…"


def fit(text: Text, width_px: float) -> None:
    """Cut a drawn text with "…" until it is at most `width_px` wide."""
    full = text.get_text()
    if text.get_window_extent().width <= width_px:
        return
    low, high = 0, len(full)  # the longest prefix that fits with the ellipsis
    while low < high:
        middle = (low + high + 1) // 2
        text.set_text(full[:middle].rstrip() + ELLIPSIS)
        if text.get_window_extent().width <= width_px:
            low = middle
        else:
            high = middle - 1
    text.set_text(full[:low].rstrip() + ELLIPSIS)


def wrap_lines(text: str, characters: int, lines: int) -> list[str]:
    """Words in lines of about `characters`, at most `lines` (the last ends in "…" if cut);
    each is then `fit` to its width, since letters differ in width (Hangul is wide)."""
    return textwrap.wrap(text, characters, max_lines=lines, placeholder=" " + ELLIPSIS)
