"""Numbered SQL migrations shipped as package data: storage/migrations/<backend>/NNNN_name.sql."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

_MIGRATION_FILE = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
# A migration that rebuilds a table other tables reference says so in its first line; the runner
# then applies it with foreign keys off and checks them before it commits.
_FOREIGN_KEYS_OFF = "-- migrate: foreign_keys off"


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """The script split into single statements.

        The runner needs them one by one: sqlite3's executescript() commits any open transaction
        first, which would break "each migration in its own transaction".
        """
        return split_statements(self.sql)

    @property
    def foreign_keys_off(self) -> bool:
        """Whether the migration must run with foreign keys off (it rebuilds a parent table)."""
        return self.sql.lstrip().startswith(_FOREIGN_KEYS_OFF)


def load_migrations(backend: str = "sqlite") -> list[Migration]:
    """Every migration file of one backend, ordered by version."""
    folder = resources.files("storage").joinpath("migrations", backend)
    found: dict[int, Migration] = {}
    for item in folder.iterdir():
        match = _MIGRATION_FILE.match(item.name)
        if match is None:
            continue
        version = int(match["version"])
        if version in found:
            raise RuntimeError(
                f"two migrations share version {version:04d}: "
                f"{found[version].name} and {match['name']}"
            )
        found[version] = Migration(version, match["name"], item.read_text(encoding="utf-8"))
    return [found[version] for version in sorted(found)]


def latest_version(backend: str = "sqlite") -> int:
    migrations = load_migrations(backend)
    return migrations[-1].version if migrations else 0


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (trigger bodies stay whole)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        # complete_statement() knows about string literals, comments and CREATE TRIGGER … END.
        if sqlite3.complete_statement(pending):
            statements.append(pending.strip())
            pending = ""
    if _has_code(pending):
        raise ValueError(f"migration ends with an unterminated statement: {pending.strip()!r}")
    return statements


def _has_code(text: str) -> bool:
    """Whether text holds anything but whitespace and -- comments."""
    return any(line.split("--", 1)[0].strip() for line in text.splitlines())
