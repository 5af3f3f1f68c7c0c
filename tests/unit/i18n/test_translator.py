"""Babel's dates and numbers, per language; the languages a platform's tag names."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.i18n import ENGLISH, UnknownLanguage, chat_translator, language_from_platform, translator

KOREAN = translator("ko")


@pytest.mark.parametrize(
    ("value", "english", "korean"),
    [
        (999, "999", "999"),
        (1_500, "1.5K", "1.5천"),
        (76_360, "76.36K", "7.64만"),
        (12_345_678, "12.35M", "1235만"),
        (523_400_000, "523.4M", "5.23억"),
        (1_234_000_000, "1.23B", "12.3억"),
        (2_000_000_000, "2B", "20억"),
    ],
)
def test_compact_numbers(value: int, english: str, korean: str) -> None:
    """English keeps the bot's old forms (3 significant digits from a billion, else 4); Korean
    counts in 만 and 억."""
    assert (ENGLISH.compact(value), KOREAN.compact(value)) == (english, korean)


def test_dates() -> None:
    day = date(2024, 1, 7)
    assert (ENGLISH.date(day), KOREAN.date(day)) == ("2024-01-07", "2024년 1월 7일")
    assert (ENGLISH.month(day), KOREAN.month(day)) == ("January 2024", "2024년 1월")
    moment = datetime(2026, 12, 6, 4, 5, tzinfo=UTC)
    assert (ENGLISH.moment(moment), KOREAN.moment(moment)) == (
        "2026-12-06 04:05",
        "2026년 12월 6일 04:05",
    )
    assert (ENGLISH.number(76_360), KOREAN.number(76_360)) == ("76,360", "76,360")


def test_country_names() -> None:
    assert KOREAN.territory("KR") == "대한민국"
    assert KOREAN.territory("us") == "미국"
    assert ENGLISH.territory("KR") is None  # English uses the bot's own names


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("en-US", "en"),
        ("en", "en"),
        ("de", ""),
        (None, ""),
        ("", ""),
    ],
)
def test_platform_language_tags(tag: str | None, language: str) -> None:
    assert language_from_platform(tag) == language


def test_unknown_languages() -> None:
    with pytest.raises(UnknownLanguage):
        translator("xx")
    # A stored value the bot no longer knows renders in English instead of failing.
    assert chat_translator("xx") is ENGLISH
    assert chat_translator("") is ENGLISH
    assert chat_translator("ko") is KOREAN
