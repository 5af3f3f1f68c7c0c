"""Every module runs from its .py source: an edit to a source is what the next run executes.

The project once compiled its hot modules into C extensions, which Python imports before the
.py file next to them; an editable install then kept running the old code after a source edit.
Nothing is compiled any more, and these tests keep it so.
"""

from __future__ import annotations

import importlib
import pkgutil
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

import bot
import handlers
import storage
from bot import __version__
from bot.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (bot, handlers, storage)


def all_module_names() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        names.append(package.__name__)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}."):
            names.append(info.name)
    return sorted(names)


def test_the_modules_that_were_compiled_are_found() -> None:
    names = all_module_names()
    for name in ("bot.diff", "bot.events", "bot.models", "bot.validate", "bot.sources.netflix"):
        assert name in names


@pytest.mark.parametrize("name", all_module_names())
def test_module_is_imported_from_its_python_source(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    path = Path(module.__file__)
    assert path.suffix == ".py", f"{name} was imported from {path.name}"
    assert path.is_relative_to(ROOT), f"{name} was imported from {path}, not this checkout"


def test_no_compiled_module_lies_next_to_the_sources() -> None:
    built = [
        str(path.relative_to(ROOT))
        for package in PACKAGES
        for directory in package.__path__
        for path in Path(directory).rglob("*")
        if any(path.name.endswith(suffix) for suffix in (*EXTENSION_SUFFIXES, ".c"))
    ]
    assert not built, f"compiled files would shadow their sources: {', '.join(built)}"


def test_version_names_only_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"top10bot {__version__}"
