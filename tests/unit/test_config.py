"""Configuration: defaults with no file, the example file, and errors that name the bad key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import DEFAULT_STORAGE_URL, ConfigError, load_config, section
from bot.diff import DiffConfig

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"


def test_no_file_at_all_gives_every_default() -> None:
    config = load_config(None, environ={})
    assert config.storage.url == DEFAULT_STORAGE_URL
    assert config.diff == DiffConfig()
    assert config.console.enabled is None
    assert config.path is None


def test_the_example_file_loads_and_states_the_defaults() -> None:
    config = load_config(EXAMPLE, environ={})
    assert config.diff == DiffConfig()
    assert config.storage.url == DEFAULT_STORAGE_URL
    assert section(config, "sources.netflix")["enabled"] is True


def test_the_environment_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bot.toml"
    path.write_text('[storage]\nurl = "sqlite:///elsewhere.db"\n[diff]\nclimb_places = 3\n')
    config = load_config(None, environ={"TOP10BOT_CONFIG": str(path)})
    assert config.storage.url == "sqlite:///elsewhere.db"
    assert config.diff.climb_places == 3
    assert config.path == path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[diff]\nclimb_place = 3\n", "unknown key [diff] climb_place; did you mean climb_places?"),
        ("[diff]\nclimb_places = 'five'\n", "[diff] climb_places must be an integer"),
        ("[diff]\ndaily_milestones = [3, 'x']\n", "daily_milestones must be a list of integers"),
        ("[console]\nenabled = 1\n", "[console] enabled must be true or false"),
        ("[storage]\nurl = 5\n", "[storage] url must be a string"),
        ("[diff\n", "is not valid TOML"),
    ],
)
def test_a_bad_file_fails_fast_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert message in str(caught.value)


def test_a_missing_file_is_an_error_not_silence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_subsystem_sections_are_read_as_tables() -> None:
    config = load_config(EXAMPLE, environ={})
    assert section(config, "sources.flixpatrol")["enabled"] is False
    assert section(config, "no.such.section") == {}
