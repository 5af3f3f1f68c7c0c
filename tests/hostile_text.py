"""Arguments a hostile or careless user sends, for the tests of every front end."""

from __future__ import annotations

HOSTILE_ARGUMENTS: tuple[str, ...] = (
    "99999999999999999999999",  # beyond SQLite's 64-bit integers
    "-1",
    "1e309",  # infinity as a float
    "١٢",  # Arabic-Indic digits
    "9999-99-99",
    "0000-01-01",  # year 0 does not exist
    "\x00",
    "KR\x00TV",
    "\x1b[2J",  # an escape sequence that clears a terminal
    "\ud800",  # a lone surrogate: valid JSON (Telegram, Discord), no valid UTF-8
    "\u200fKR\u200b",  # right-to-left mark, zero-width space
    "\u202eRK",  # right-to-left override
    "👨\u200d👩\u200d👧" * 40,  # emoji joined by zero-width joiners
    "<b>" * 1000,  # markup, to be escaped, and long
    "x" * 3900,  # as long as a Telegram message allows
    "&amp;" * 700,
)


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# What Discord can deliver: its gateway sends valid UTF-8 only (discord.py's JSON parser refuses
# a lone surrogate before the bot sees it).
UTF8_ARGUMENTS = tuple(filter(_is_utf8, HOSTILE_ARGUMENTS))
