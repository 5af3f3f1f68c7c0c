"""Languages: the gettext catalogs, and dates and numbers by Babel, behind one `Translator`.

English is the language of the source code (the msgids); every other language has a catalog,
`bot/locale/<language>/LC_MESSAGES/top10bot.po`, compiled in memory when first used, so no
stale .mo file can ever disagree with it. A `Translator` is passed to whatever renders text for
a chat (commands, alerts, cards, buttons) — never a global — so one process writes English to one
chat and Korean to the next.

Marking text: `tr._("{name} is the new #1", name=...)` (formatted with str.format after the
lookup), `tr.n_("{n} week", "{n} weeks", count)`, and `N_("…")` for text defined before a
translator is at hand (module constants), looked up later with `tr.gettext`.
"""

from bot.i18n.catalog import CATALOG_DOMAIN, KEYWORDS, catalog_path
from bot.i18n.translator import (
    DEFAULT_LANGUAGE,
    ENGLISH,
    LANGUAGES,
    Translator,
    UnknownLanguage,
    chat_translator,
    language_from_platform,
    translator,
)


def N_(message: str) -> str:
    """Marks text for the catalog without translating it (translated where it is shown)."""
    return message


__all__ = [
    "CATALOG_DOMAIN",
    "DEFAULT_LANGUAGE",
    "ENGLISH",
    "KEYWORDS",
    "LANGUAGES",
    "N_",
    "Translator",
    "UnknownLanguage",
    "catalog_path",
    "chat_translator",
    "language_from_platform",
    "translator",
]
