"""`Translator`: one language's words (gettext) and its way of writing dates and numbers (Babel)."""

from __future__ import annotations

import datetime as dt
import functools
import gettext
from dataclasses import dataclass

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.numbers import format_compact_decimal, format_decimal

from bot.i18n.catalog import compiled

DEFAULT_LANGUAGE = "en"
# Every language with a catalog, by code, with its own name (for /settings).
LANGUAGES: dict[str, str] = {"en": "English", "ko": "한국어"}


@dataclass(frozen=True, slots=True)
class _Style:
    """How a language writes what Babel formats."""

    date: str  # a Babel date pattern or style
    # Significant digits of a compact number: below a billion, and from a billion up.
    compact_digits: tuple[int, int]


# English keeps the forms the bot always used: ISO dates, "523.4M", "1.23B".
_STYLES = {
    "en": _Style(date="yyyy-MM-dd", compact_digits=(4, 3)),
    "ko": _Style(date="long", compact_digits=(3, 3)),  # 2024년 1월 7일, 5.23억
}


class UnknownLanguage(ValueError):
    def __init__(self, language: str) -> None:
        super().__init__(language)
        self.language = language


@dataclass(frozen=True, slots=True)
class Translator:
    """Text for one language. `_` and `n_` look a message up, then fill in its {fields}."""

    language: str
    locale: Locale
    _catalog: gettext.NullTranslations
    _style: _Style

    def _(self, message: str, /, **values: object) -> str:
        text = self._catalog.gettext(message)
        return text.format(**values) if values else text

    def n_(self, singular: str, plural: str, count: int, /, **values: object) -> str:
        """The form for `count`; `{n}` in the message is the count, written as a number."""
        text = self._catalog.ngettext(singular, plural, count)
        return text.format(n=self.number(count), **values)

    def gettext(self, message: str) -> str:
        """Text marked with N_ elsewhere (no fields filled in)."""
        return self._catalog.gettext(message)

    # -- Babel ------------------------------------------------------------------------------

    def date(self, day: dt.date) -> str:
        """'2024-01-07' in English, '2024년 1월 7일' in Korean."""
        return format_date(day, self._style.date, locale=self.locale)

    def day_month(self, day: dt.date) -> str:
        """'Sep 19', '9월 19일': a short date where the year is said once (a chart's axis)."""
        return format_skeleton("MMMd", day, locale=self.locale)

    def month(self, day: dt.date) -> str:
        """'September 2021', '2021년 9월'."""
        return format_skeleton("yMMMM", day, locale=self.locale)

    def moment(self, when: dt.datetime) -> str:
        """A date and time, already in the zone the reader wants: '2026-12-06 04:00'."""
        return f"{self.date(when.date())} {when:%H:%M}"

    def number(self, value: int) -> str:
        """'76,360'."""
        return format_decimal(value, locale=self.locale)

    def compact(self, value: int) -> str:
        """Hours and views: '523.4M', '1.23B' (English); '5.23억', '1235만' (Korean)."""
        if abs(value) < 1000:
            return str(value)
        small, large = self._style.compact_digits
        digits = large if abs(value) >= 1_000_000_000 else small
        whole = format_compact_decimal(value, locale=self.locale, fraction_digits=0)
        integer_digits = sum(1 for character in whole if character.isdigit())
        return format_compact_decimal(
            value, locale=self.locale, fraction_digits=max(0, digits - integer_digits)
        )

    def territory(self, code: str) -> str | None:
        """A country's name in this language (Babel's CLDR data); None for English, whose names
        are the bot's own (bot.sources.regions)."""
        if self.language == DEFAULT_LANGUAGE:
            return None
        name: str | None = self.locale.territories.get(code.upper())
        return name


@functools.cache
def translator(language: str = DEFAULT_LANGUAGE) -> Translator:
    """The Translator of a language in LANGUAGES; UnknownLanguage for any other."""
    if language not in LANGUAGES:
        raise UnknownLanguage(language)
    return Translator(language, Locale.parse(language), compiled(language), _STYLES[language])


ENGLISH = translator(DEFAULT_LANGUAGE)


def chat_translator(language: str) -> Translator:
    """The Translator of a chat's stored language: the default when none was chosen (''), or
    for a value no longer known (a rendering never fails on an odd stored value)."""
    return translator(language) if language in LANGUAGES else ENGLISH


def language_from_platform(code: str | None) -> str:
    """A platform's language tag (Telegram 'ko', Discord 'ko' or 'en-US') → a language of ours,
    '' when it names none of them (the chat then stays on the default)."""
    if not code:
        return ""
    base = code.replace("_", "-").split("-", 1)[0].casefold()
    return base if base in LANGUAGES else ""
