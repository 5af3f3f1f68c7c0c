"""Title aliases: the names fans type for a title the sources spell otherwise ("오징어 게임" for
"Squid Game"), from a TOML file the operator may add (`[titles] aliases = "aliases.toml"`).

Titles are still shown as the source gives them; an alias only finds one. The file is read once,
at start-up, and a bad one stops the start with a ConfigError naming the file and the entry.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Config, ConfigError, section
from bot.models import normalise_title

# An alias or a title longer than this is no title (a pasted paragraph, a broken file).
MAX_ALIAS_LENGTH = 200


@dataclass(frozen=True, slots=True)
class TitleAliases:
    """Alias → the title it stands for, both as written in the file."""

    by_alias: Mapping[str, str] = field(default_factory=dict)
    # By the alias's normalise_title: what `target` looks up.
    _folded: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for alias, title in self.by_alias.items():
            self._folded[normalise_title(alias)] = title

    def target(self, text: str) -> str | None:
        """The title an alias stands for (case, accents and punctuation ignored), or None."""
        return self._folded.get(normalise_title(text))

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.by_alias.items())

    def __len__(self) -> int:
        return len(self.by_alias)


def parse_aliases(text: str, source: str) -> TitleAliases:
    """The aliases of a TOML text: `"alias" = "Title as the source gives it"` lines, at the top
    level. Raises ConfigError naming `source` and what is wrong."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"title aliases {source} are not valid TOML: {exc}") from exc
    aliases: dict[str, str] = {}
    folded: dict[str, str] = {}
    for alias, title in raw.items():
        where = f"title aliases {source}: {alias!r}"
        if not isinstance(title, str):
            raise ConfigError(f'{where} must map to a title in quotes ("{alias}" = "Title")')
        if not normalise_title(alias) or not normalise_title(title):
            raise ConfigError(f"{where}: an alias and its title need letters or digits")
        if len(alias) > MAX_ALIAS_LENGTH or len(title) > MAX_ALIAS_LENGTH:
            raise ConfigError(f"{where}: longer than {MAX_ALIAS_LENGTH} characters")
        key = normalise_title(alias)
        if key in folded and folded[key] != alias:
            raise ConfigError(f"{where} is the same alias as {folded[key]!r}")
        folded[key] = alias
        aliases[alias] = title
    return TitleAliases(aliases)


def load_aliases(config: Config) -> TitleAliases:
    """`[titles] aliases`: a path, relative to the config file's folder; none → no aliases."""
    chosen = section(config, "titles").get("aliases")
    if chosen is None or chosen == "":
        return TitleAliases()
    if not isinstance(chosen, str):
        raise ConfigError('[titles] aliases must be a file name in quotes ("aliases.toml")')
    path = Path(chosen).expanduser()
    if not path.is_absolute() and config.path is not None:
        path = config.path.parent / path
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"[titles] aliases: file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"[titles] aliases: cannot read {path}: {exc}") from exc
    return parse_aliases(text, str(path))
