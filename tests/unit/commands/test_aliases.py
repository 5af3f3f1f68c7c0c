"""Title aliases: the operator's file, and /title, /subscribe and autocomplete finding by it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.commands import ArgumentKind, CommandRateLimiter, CommandService
from bot.commands.aliases import TitleAliases, load_aliases, parse_aliases
from bot.config import ConfigError, load_config
from storage.memory import MemoryBackend
from storage.memory.subscriptions import MemorySubscriptionStore
from tests.unit.commands.command_helpers import Clock, member, run

EXAMPLE = Path(__file__).resolve().parents[3] / "aliases.example.toml"


@pytest.fixture
def korean_names() -> TitleAliases:
    return parse_aliases(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE))


@pytest.fixture
def service(storage: MemoryBackend, korean_names: TitleAliases) -> CommandService:
    return CommandService(
        storage,
        MemorySubscriptionStore(),
        clock=Clock(),
        rate_limiter=CommandRateLimiter(burst=1000, per_seconds=1),
        aliases=korean_names,
    )


def test_the_example_file_maps_real_korean_titles(korean_names: TitleAliases) -> None:
    assert len(korean_names) >= 20
    assert korean_names.target("오징어 게임") == "Squid Game"
    assert korean_names.target("지금 우리 학교는") == "All of Us Are Dead"
    assert korean_names.target("  오징어   게임 ") == "Squid Game"  # spacing as typed
    assert korean_names.target("Squid Game") is None


@pytest.mark.parametrize("typed", ["오징어 게임", "오겜", "오징어게임"])
async def test_title_finds_a_show_by_its_alias(service: CommandService, typed: str) -> None:
    """Exactly, or (without the space) as a close spelling of the alias."""
    reply = await run(service, f"/title {typed}")
    assert reply.ok and reply.title == "Squid Game"  # named as the source does


async def test_subscribe_by_an_alias_subscribes_to_the_show(service: CommandService) -> None:
    reply = await run(service, "/subscribe 오징어 게임")
    assert reply.ok and reply.lines[0].startswith("Squid Game —")


async def test_autocomplete_offers_aliases(service: CommandService) -> None:
    choices = await service.complete(ArgumentKind.TITLE, "오징어", member())
    assert "오징어 게임" in [choice.value for choice in choices]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('"오징어 게임" = ', "are not valid TOML"),
        ('"오징어 게임" = 3', 'must map to a title in quotes ("오징어 게임" = "Title")'),
        ('"오징어 게임" = ["Squid Game"]', "must map to a title in quotes"),
        ('"..." = "Squid Game"', "an alias and its title need letters or digits"),
        ('"오징어 게임" = "Squid Game"\n"오징어  게임" = "Squid Game"', "is the same alias as"),
        ('"x" = "' + "y" * 201 + '"', "longer than 200 characters"),
    ],
)
def test_a_bad_alias_file_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_aliases(text, "aliases.toml")
    assert str(caught.value).startswith("title aliases aliases.toml")
    assert message in str(caught.value)


def test_the_file_is_found_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "aliases.toml").write_text('"지옥" = "Hellbound"\n', encoding="utf-8")
    config = tmp_path / "top10bot.toml"
    config.write_text('[titles]\naliases = "aliases.toml"\n', encoding="utf-8")
    assert load_aliases(load_config(config, environ={})).target("지옥") == "Hellbound"
    config.write_text('[titles]\naliases = "missing.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"file not found: .*missing\.toml"):
        load_aliases(load_config(config, environ={}))
    assert len(load_aliases(load_config(None, environ={}))) == 0  # no [titles]: no aliases


def test_the_bot_does_not_start_with_a_bad_alias_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import main

    (tmp_path / "aliases.toml").write_text('"지옥" = 1\n', encoding="utf-8")
    config = tmp_path / "top10bot.toml"
    config.write_text(
        '[storage]\nurl = "memory://"\n[titles]\naliases = "aliases.toml"\n', encoding="utf-8"
    )
    assert main(["--config", str(config), "run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("config error: title aliases ")
    assert "'지옥' must map to a title in quotes" in err
