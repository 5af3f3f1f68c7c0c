"""The config schema: typos named with the closest valid key, and config.example.toml in step
with the schema and with what each section reader accepts."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.__main__ import main
from bot.config import ConfigError, load_config, section
from bot.config_schema import SECTION_KEYS
from bot.delivery.config import DeliveryConfig
from bot.metrics import MetricsConfig
from bot.pictures.config import PicturesConfig
from bot.poll_config import load_poll_config
from bot.sources.flixpatrol_fetch import FlixPatrolSettings
from bot.sources.netflix_fetch import NetflixSettings
from handlers.discord.adapter import discord_settings
from handlers.telegram.adapter import telegram_settings
from tests.fakes.source_server import config_toml

EXAMPLE = Path(__file__).resolve().parents[2] / "config.example.toml"
SECTION_LINE = re.compile(r"^\[(?P<name>[a-z_.]+)\]\s*$")
KEY_LINE = re.compile(r"^(?P<commented>#\s*)?(?P<key>[a-z_]+)\s*=")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[discrod]\ntoken = "x"\n', "unknown section [discrod]; did you mean [discord]?"),
        (
            "[sources.netflix]\nshedule = []\n",
            "unknown key [sources.netflix] shedule; did you mean schedule?",
        ),
        (
            "[sources.netflx]\nenabled = true\n",
            "unknown section [sources.netflx]; did you mean [sources.netflix]?",
        ),
        (
            "[netflix]\nenabled = true\n",
            "unknown section [netflix]; did you mean [sources.netflix]?",
        ),
        ("[source.netflix]\nenabled = true\n", "unknown section [source]; did you mean [sources]?"),
        (
            "[delivery]\nquiet_star = ''\n",
            "unknown key [delivery] quiet_star; did you mean quiet_start?",
        ),
        ("[telegram]\nTOKEN = ''\n", "unknown key [telegram] TOKEN; did you mean token?"),
        ("[alerts]\nzzz = 1\n", "unknown key [alerts] zzz; known keys: catchup_max_age"),
        (
            "[sources.hulu]\nenabled = true\n",
            "unknown section [sources.hulu]; known sections: [sources.flixpatrol],"
            " [sources.netflix]",
        ),
        ("[zzz]\n", "unknown section [zzz]; known sections: [admin], [alerts], "),
        ('token = "x"\n', "unknown top-level key token; every key belongs in a [section]"),
        ('storage = "x"\n', "storage must be a section ([storage]), not a value"),
        ("sources = 1\n", "sources must be sections ([sources.flixpatrol], …), not a value"),
        (
            "[sources]\nnetflix = 1\n",
            "sources.netflix must be a section ([sources.netflix]), not a value",
        ),
    ],
)
def test_an_unknown_section_or_key_is_named_with_the_closest_valid_one(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(caught.value).startswith(message)


def test_the_cli_reports_a_typo_in_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[discrod]\ntoken = "x"\n', encoding="utf-8")
    assert main(["--config", str(path), "status"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "config error: unknown section [discrod]; did you mean [discord]?\n"
    assert captured.out == ""


def example_keys() -> dict[str, dict[str, bool]]:
    """Section → key → commented out, for every key line of the example, active or not."""
    keys: dict[str, dict[str, bool]] = {}
    current = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if header := SECTION_LINE.match(line):
            current = header["name"]
            keys[current] = {}
        elif key_line := KEY_LINE.match(line):
            keys[current][key_line["key"]] = key_line["commented"] is not None
    return keys


def test_the_example_lists_every_key_of_the_schema_and_no_other() -> None:
    listed = {name: set(keys) for name, keys in example_keys().items()}
    assert listed == {name: set(keys) for name, keys in SECTION_KEYS.items()}


def test_every_key_of_the_example_has_a_comment_above_its_group() -> None:
    """A key, or a run of keys with nothing between them, follows a prose comment line."""
    uncommented: list[str] = []
    previous = ""
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        key_line = KEY_LINE.match(line)
        if key_line and not (previous.startswith("#") or KEY_LINE.match(previous)):
            uncommented.append(key_line["key"])
        previous = line
    assert uncommented == []


def uncommented_example() -> dict[str, dict[str, Any]]:
    """Section → its table, with the commented-out keys switched on (with their example value)."""
    text = EXAMPLE.read_text(encoding="utf-8")
    raw = tomllib.loads(re.sub(r"(?m)^#\s*(?=[a-z_]+\s*=)", "", text))
    sources = raw.pop("sources")
    return {**raw, **{f"sources.{name}": table for name, table in sources.items()}}


def test_every_key_of_the_example_is_accepted_by_its_reader(tmp_path: Path) -> None:
    tables = uncommented_example()
    for name, token in (("telegram", "1:x"), ("discord", "x")):
        tables[name]["token"] = token
    path = tmp_path / "all-keys.toml"
    path.write_text(config_toml(tables), encoding="utf-8")
    # The schema check, then [storage] [diff] [console] read by load_config itself.
    for loaded in (load_config(EXAMPLE, environ={}), load_config(path, environ={})):
        load_poll_config(loaded)  # [sources.*], [alerts], [admin]
        DeliveryConfig.from_table(section(loaded, "delivery"))
        PicturesConfig.from_table(section(loaded, "pictures"))
        MetricsConfig.from_table(section(loaded, "metrics"))
    assert discord_settings(tables["discord"], {}) is not None
    assert telegram_settings(tables["telegram"], {}) is not None


@pytest.mark.parametrize(
    ("name", "settings"),
    [("sources.netflix", NetflixSettings), ("sources.flixpatrol", FlixPatrolSettings)],
)
def test_a_source_reader_reads_exactly_the_keys_of_the_schema(
    name: str, settings: type[NetflixSettings] | type[FlixPatrolSettings]
) -> None:
    """The readers refuse a key they did not read, naming the ones they did."""
    with pytest.raises(ConfigError) as caught:
        settings.from_table({"not_a_key": 1})
    read = str(caught.value).rpartition("known keys: ")[2].split(", ")
    assert set(read) == SECTION_KEYS[name]


def test_an_unknown_source_on_the_command_line_gets_a_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "bot.db")
    assert main(["poll", "--once", "--source", "netflx", "--db", db]) == 2
    assert (
        capsys.readouterr().err == "config error: unknown source 'netflx'; did you mean netflix?\n"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"enabled": "yes"}, "[pictures] enabled must be true or false"),
        ({"cache_size": 0}, "[pictures] cache_size must be a whole number of at least 1"),
        ({"cache_size": 2.5}, "[pictures] cache_size must be a whole number of at least 1"),
        ({"console_dir": 3}, "[pictures] console_dir must be a string"),
        ({"cache": 3}, "[pictures] unknown key 'cache'; known keys: cache_size, console_dir"),
    ],
)
def test_a_bad_pictures_setting_is_refused_with_its_key_named(
    table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        PicturesConfig.from_table(table)
    assert str(caught.value).startswith(message)


def test_pictures_are_on_by_default_and_the_console_saves_them_in_the_temp_directory(
    tmp_path: Path,
) -> None:
    default = PicturesConfig.from_table({})
    assert default.enabled and default.cache_size == 64
    assert default.console_directory().name == "top10bot-pictures"
    chosen = PicturesConfig.from_table({"enabled": False, "console_dir": str(tmp_path)})
    assert not chosen.enabled and chosen.console_directory() == tmp_path
