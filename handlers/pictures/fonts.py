"""Fonts for pictures: DejaVu Sans (matplotlib's own) for Latin and symbols, then a font with
Hangul, so Korean titles are drawn, never as empty boxes.

The Hangul font comes from the koreanize-matplotlib package (NanumGothic, SIL Open Font
License), a dependency of top10bot: only its font file is used (importing the package would
change matplotlib's global settings). Installed system fonts with Hangul or other CJK glyphs
(Noto Sans CJK, Nanum) are added when present. Text that no font can draw is refused
(PictureUnavailable): the message then goes out without its picture, rather than with boxes.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from matplotlib import font_manager
from matplotlib.ft2font import FT2Font

from bot.pictures.model import PictureUnavailable

log = logging.getLogger(__name__)

BASE_FAMILY = "DejaVu Sans"
BUNDLED_FONT_PACKAGE = "koreanize_matplotlib"
# Its files and their weights: matplotlib reads NanumGothicBold as 600 and would log a warning
# for every bold text that falls back to it.
BUNDLED_FONT_FILES = {"fonts/NanumGothic.ttf": 400, "fonts/NanumGothicBold.ttf": 700}
# System fonts worth adding for CJK titles, by words in their family names.
SYSTEM_CJK_WORDS = ("cjk", "nanum", "noto sans kr", "noto sans jp", "unifont")
# Characters nobody needs to see drawn: an emoji or a symbol the fonts lack is left out of the
# picture (the text reply keeps it); a letter the fonts lack makes the picture unavailable.
DROPPABLE_CATEGORIES = frozenset({"So", "Sk", "Cf", "Mn", "Me", "Co", "Cn"})


@dataclass(frozen=True, slots=True)
class FontChain:
    """The families matplotlib falls back through, glyph by glyph, and what they cover."""

    families: tuple[str, ...]
    covered: frozenset[int]

    def drawable(self, text: str) -> str:
        """`text` with the symbols no font has left out; PictureUnavailable when a letter (a
        Hangul syllable without a Korean font) cannot be drawn."""
        kept = []
        for char in text:
            if ord(char) in self.covered or char.isspace():
                kept.append(char)
            elif unicodedata.category(char) not in DROPPABLE_CATEGORIES:
                raise PictureUnavailable(
                    f"no installed font has {char!r} (U+{ord(char):04X}) of {text!r}; "
                    "install koreanize-matplotlib or a Noto CJK font"
                )
        return " ".join("".join(kept).split())


def _bundled_font_files() -> dict[Path, int]:
    """The Hangul font files of the koreanize-matplotlib package (found without importing it),
    with their weights."""
    spec = importlib.util.find_spec(BUNDLED_FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return {}
    root = Path(next(iter(spec.submodule_search_locations)))
    return {
        root / name: weight
        for name, weight in BUNDLED_FONT_FILES.items()
        if (root / name).is_file()
    }


def _register(path: Path, weight: int | None) -> None:
    manager = font_manager.fontManager
    manager.addfont(str(path))
    if weight is not None:
        manager.ttflist = [
            replace(entry, weight=weight) if entry.fname == str(path) else entry
            for entry in manager.ttflist
        ]


def _system_cjk_font_files() -> list[Path]:
    found = []
    for entry in font_manager.fontManager.ttflist:
        name = entry.name.casefold()
        if any(word in name for word in SYSTEM_CJK_WORDS):
            found.append(Path(entry.fname))
    return sorted(set(found))


@functools.cache
def font_chain() -> FontChain:
    """Registered once per process: DejaVu Sans first, then every Hangul/CJK font found."""
    families = [BASE_FAMILY]
    covered = set(FT2Font(font_manager.findfont(BASE_FAMILY)).get_charmap())
    weights: dict[Path, int | None] = {path: None for path in _system_cjk_font_files()}
    weights.update(_bundled_font_files())
    for path, weight in weights.items():
        try:
            _register(path, weight)
            font = FT2Font(str(path))
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("pictures: font %s unusable: %s", path, exc)
            continue
        name = font_manager.FontProperties(fname=str(path)).get_name()
        if name not in families:
            families.append(name)
        covered.update(font.get_charmap())
    if len(families) == 1:
        log.warning(
            "pictures: no font with Hangul found (koreanize-matplotlib is not installed): "
            "Korean titles get no picture"
        )
    return FontChain(tuple(families), frozenset(covered))
