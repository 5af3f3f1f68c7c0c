"""Sizes and colours of every picture, chosen for a phone.

A chat app shows a picture across the phone's width, about 400 points; text there must be at
least ~12 points, so every text is at least 3 % of the picture's width (MIN_TEXT_FRACTION; a
test measures every text of both figures against it). Colours are the Okabe–Ito palette, safe
for the common colour-vision deficiencies, and every line also has its own marker shape, so no
line is told apart by colour alone.
"""

from __future__ import annotations

from typing import Final

DPI: Final = 100
WIDTH_PX: Final = 1000
# Phone width in points, and the smallest text readable there.
PHONE_WIDTH: Final = 400
MIN_PHONE_TEXT: Final = 12
MIN_TEXT_FRACTION: Final = MIN_PHONE_TEXT / PHONE_WIDTH


def points_for_px(px: float) -> float:
    """Font size in points for a height in pixels at DPI."""
    return px * 72 / DPI


# Text sizes in points: the smallest is 3 % of the width (30 px of 1000 → 21.6 pt).
SMALL_PT: Final = points_for_px(WIDTH_PX * MIN_TEXT_FRACTION) + 0.4  # a little above the minimum
BODY_PT: Final = SMALL_PT + 3
HEADING_PT: Final = SMALL_PT + 10

# Okabe & Ito (2008), "Color Universal Design": black, orange, sky blue, bluish green, yellow,
# blue, vermillion, reddish purple.
OKABE_ITO: Final = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

# Rank chart on white: worldwide in black, then the colours that keep their contrast on white
# (yellow does not). One marker shape per line as well.
SERIES_COLOURS: Final = (
    OKABE_ITO["black"],
    OKABE_ITO["orange"],
    OKABE_ITO["blue"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
)
SERIES_MARKERS: Final = ("o", "s", "^", "D", "v", "P", "X")
CHART_BACKGROUND: Final = "#FFFFFF"
CHART_INK: Final = "#1A1A1A"
CHART_MUTED: Final = "#5F6368"
NUMBER_ONE_BAND: Final = "#FFF3D6"  # behind rank 1: the place every line aims for
GRID: Final = "#D9D9D9"

# Chart card on a dark background (as share cards are): movement in colour AND in shape
# (▲ ▼ NEW BACK =).
CARD_BACKGROUND: Final = "#111418"
CARD_STRIPE: Final = "#1B2027"
CARD_INK: Final = "#FFFFFF"
CARD_MUTED: Final = "#B0B7C0"
CARD_NUMBER_ONE: Final = OKABE_ITO["orange"]
MOVEMENT_COLOURS: Final = {
    "up": OKABE_ITO["bluish_green"],
    "down": OKABE_ITO["vermillion"],
    "new": OKABE_ITO["yellow"],
    "back": OKABE_ITO["sky_blue"],
    "same": CARD_MUTED,
    "unknown": CARD_MUTED,
}
