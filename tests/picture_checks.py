"""Looking at a picture the way a test can: decode the PNG and check it is a real picture."""

from __future__ import annotations

import io

from PIL import Image

# A chart or a card has ink, a background and several line or movement colours.
MIN_DISTINCT_COLOURS = 6
# Share of the pixels that are not the background colour: a blank picture has none.
MIN_INKED_SHARE = 0.03


def assert_real_png(data: bytes, *, min_width: int = 800) -> tuple[int, int]:
    """Decode the bytes as a PNG; check it is at least `min_width` wide, has several distinct
    colours and is not blank. Returns (width, height)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.format == "PNG"
        width, height = image.size
        rgb = image.convert("RGB")
    assert width >= min_width, f"{width} px wide"
    colours = rgb.getcolors(maxcolors=1 << 20) or []
    assert len(colours) >= MIN_DISTINCT_COLOURS, f"{len(colours)} colours"
    background = max(colours)[0]
    assert 1 - background / (width * height) >= MIN_INKED_SHARE, "mostly background"
    return width, height
