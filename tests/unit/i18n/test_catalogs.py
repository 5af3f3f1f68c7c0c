"""The shipped catalogs: complete, current with the code, and safe to format."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog, Message

from bot.i18n import LANGUAGES, translator
from bot.i18n.catalog import read_catalog
from bot.i18n.extract import extract_template

TRANSLATED = [language for language in LANGUAGES if language != "en"]
FIELD = re.compile(r"\{(\w*)[^{}]*\}")


def _messages(catalog: Catalog) -> list[Message]:
    return [message for message in catalog if message.id]


def _fields(text: str) -> set[str]:
    return set(FIELD.findall(text))


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    catalog = read_catalog(language)
    untranslated = [m.id for m in _messages(catalog) if not m.string or not all(m.string)]
    fuzzy = [m.id for m in _messages(catalog) if m.fuzzy]
    assert (untranslated, fuzzy) == ([], [])


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_catalog_holds_exactly_the_messages_of_the_code(language: str) -> None:
    """A message added, changed or removed in the code without `python -m bot.i18n.extract`
    (and a translation) shows here."""
    in_code = {m.id for m in _messages(extract_template())}
    in_catalog = {m.id for m in _messages(read_catalog(language))}
    assert {
        "missing from the catalog": in_code - in_catalog,
        "no longer in the code": in_catalog - in_code,
    } == {"missing from the catalog": set(), "no longer in the code": set()}
    assert not read_catalog(language).obsolete


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_fill_in_the_same_fields_as_the_english(language: str) -> None:
    """A field renamed or dropped in a translation would fail at run time (KeyError) or lose
    the value; a field added would fail too."""
    wrong = []
    for message in _messages(read_catalog(language)):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(_fields(text) for text in ids))
        for text in strings:
            # A plural form may leave out {n} (Korean has one form and often needs it, though).
            if _fields(text) - expected or (expected - {"n"}) - _fields(text):
                wrong.append((message.id, text))
    assert wrong == []


def test_the_compiled_catalog_is_used() -> None:
    korean = translator("ko")
    assert korean._("Worldwide") == "전 세계"
    assert korean.n_("{n} week", "{n} weeks", 3) == "3주"
    assert korean._("{name} debuts at #1", name="오징어 게임") == "오징어 게임, 1위로 첫 진입"
    english = translator("en")
    assert english.n_("{n} week", "{n} weeks", 1) == "1 week"
    assert english.n_("{n} week", "{n} weeks", 1_000) == "1,000 weeks"
