"""Typed text from anyone, made safe before any command reads it.

Every front end (console, Telegram, Discord, buttons) passes what a user sent through here, so
the rule is the same everywhere: characters no command can contain are refused with a reply
that names them, invisible marks are dropped, and numbers written in any script are read.
"""

from __future__ import annotations

import unicodedata

from bot.commands.reply import ArgumentError, error
from bot.i18n import Translator

# Invisible formatting marks (zero-width spaces and joiners, left-to-right and right-to-left
# marks, bidi embeddings, a byte-order mark): pasted along with a name, they would only make
# "KR" fail to match; no region, title or date needs them.
_INVISIBLE_CATEGORY = "Cf"
# Control characters (NUL, ESC, DEL, the C1 range) and lone UTF-16 surrogates: nothing a user
# can mean, and a lone surrogate cannot even be encoded to send the reply back.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs"})


def _character_name(character: str) -> str:
    name = unicodedata.name(character, "")
    code = f"U+{ord(character):04X}"
    return f"{code} ({name})" if name else code


def clean_text(text: str, what: str, tr: Translator) -> str:
    """`text` without invisible marks and with every kind of space made a plain space.

    Raises ArgumentError naming the first control character or lone surrogate; `what` says
    where it was ("region", "/top10").
    """
    kept: list[str] = []
    for character in text:
        if character.isspace():
            kept.append(" ")
            continue
        category = unicodedata.category(character)
        if category in _REFUSED_CATEGORIES:
            raise ArgumentError(
                error(
                    tr._("Unreadable character in {what}", what=what),
                    tr._(
                        "{character} cannot be part of a command: type plain text.",
                        character=_character_name(character),
                    ),
                )
            )
        if category != _INVISIBLE_CATEGORY:
            kept.append(character)
    return "".join(kept)


def ascii_digits(text: str) -> str:
    """Decimal digits of any script as ASCII digits ("١٢" → "12"); other characters unchanged."""
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


# The most of a user's text a reply repeats (as much as an argument may hold): enough to
# recognise it, never a wall of text that would not fit a message.
ECHO_MAX = 100


def quoted(text: str, limit: int = ECHO_MAX) -> str:
    """User text repeated in a reply: quoted, unprintable characters escaped, cut to `limit`."""
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def shown(text: str, limit: int = ECHO_MAX) -> str:
    """User text shown back inside a reply: as typed when printable, else quoted with escapes;
    cut to `limit` characters either way."""
    cut = text[:limit]
    plain = cut if cut.isprintable() else repr(cut)
    return plain if len(text) <= limit else plain + "…"
