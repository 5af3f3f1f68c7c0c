"""Typed text (Telegram, console) into the named arguments Discord's options give."""

from __future__ import annotations

import pytest

from bot.commands import COMMANDS_BY_NAME, ArgumentError, parse_command_text
from bot.i18n import ENGLISH


@pytest.mark.parametrize(
    ("command", "text", "expected"),
    [
        ("top10", "KR", {"region": "KR"}),
        ("top10", "south korea tv", {"region": "south korea", "category": "tv"}),
        ("top10", "tv", {"category": "tv"}),  # TV is a list before it is Tuvalu
        (
            "top10",
            "2021-10-10 germany films netflix",
            {"date": "2021-10-10", "region": "germany", "category": "films", "service": "netflix"},
        ),
        (
            "top10",
            'region="South Korea" category=Films',
            {"region": "South Korea", "category": "Films"},
        ),
        ("title", "Grey's Anatomy", {"name": "Grey's Anatomy"}),
        ("subscribe", "Squid Game", {"title": "Squid Game"}),
        ("subscribe", "Emily in Paris", {"title": "Emily in Paris"}),  # "in" is also India
        ("subscribe", "KR TV", {"region": "KR", "category": "TV"}),
        # Category words in any order; inside a title they stay the title's.
        ("subscribe", "non-english tv world", {"region": "world", "category": "TV (Non-English)"}),
        ("subscribe", "Love Hard films", {"title": "Love Hard films"}),
        ("subscribe", "The English Game", {"title": "The English Game"}),
        ("top10", "films kr english", {"region": "kr", "category": "Films (English)"}),
        ("settings", "22:00-08:00", {"quiet": "22:00-08:00"}),
        (
            "subscribe",
            "world new_number_one records",
            {"region": "world", "events": "new_number_one,records"},
        ),
        (
            "subscribe",
            "title=Squid Game events=records",
            {"title": "Squid Game", "events": "records"},
        ),
        ("settings", "Asia/Seoul records", {"timezone": "Asia/Seoul", "events": "records"}),
        ("unsubscribe", "#3", {"subscription": "#3"}),
        ("records", "TV", {"category": "TV"}),
    ],
)
def test_parse_command_text(command: str, text: str, expected: dict[str, str]) -> None:
    assert parse_command_text(COMMANDS_BY_NAME[command], text, ENGLISH) == expected


def test_parse_refuses_arguments_a_command_does_not_take() -> None:
    with pytest.raises(ArgumentError) as raised:
        parse_command_text(COMMANDS_BY_NAME["help"], "me", ENGLISH)
    assert not raised.value.reply.ok
    with pytest.raises(ArgumentError):
        parse_command_text(COMMANDS_BY_NAME["top10"], "KR " + "x" * 500, ENGLISH)
