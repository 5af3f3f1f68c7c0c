"""The catalogs: where they are, how text is marked in the code, and compiling one in memory.

The .po file is the only copy of a translation: it is compiled with Babel into an in-memory .mo
that the stdlib's `gettext.GNUTranslations` reads, once per process and language. Fuzzy entries
are left out (Babel's default), so a translation still marked fuzzy is shown in English; the
catalog test keeps the shipped catalogs free of them.
"""

from __future__ import annotations

import functools
import gettext
import io
from importlib import resources
from importlib.resources.abc import Traversable

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

CATALOG_DOMAIN = "top10bot"

# The marker functions, as Babel's extractor is told about them: `_` (one message, formatted),
# `n_` (singular, plural, count) and `N_` (marked now, translated where shown).
KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "n_": (1, 2), "N_": None}


def catalog_path(language: str) -> Traversable:
    """The .po file of a language, inside the installed package."""
    return resources.files("bot") / "locale" / language / "LC_MESSAGES" / f"{CATALOG_DOMAIN}.po"


def read_catalog(language: str) -> Catalog:
    """The parsed .po of a language; FileNotFoundError when there is none."""
    with catalog_path(language).open("rb") as po:
        return read_po(po, locale=language, domain=CATALOG_DOMAIN)


@functools.cache
def compiled(language: str) -> gettext.NullTranslations:
    """The language's catalog for `gettext`; English (the msgids) needs none."""
    if language == "en":
        return gettext.NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, read_catalog(language))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)
