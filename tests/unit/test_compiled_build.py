"""The compiled build (setup.py): what it compiles exists, and no compiled file hides newer source.

An editable install (the README's test command) builds the compiled modules next to their sources,
and Python imports a compiled module before its .py file: after editing one of them, the edit
only runs once the install is run again. These tests fail loudly instead of testing old code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import bot.diff
from bot.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def compiled_modules() -> list[str]:
    """setup.py's COMPILED_MODULES, read without running setup.py."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "COMPILED_MODULES"
            for target in node.targets
        ):
            modules: list[str] = ast.literal_eval(node.value)
            return modules
    raise AssertionError("setup.py has no COMPILED_MODULES")


def test_every_module_setup_compiles_exists() -> None:
    modules = compiled_modules()
    assert "bot/diff.py" in modules
    for module in modules:
        assert (ROOT / module).is_file(), module


def test_no_compiled_module_is_older_than_its_source() -> None:
    stale = []
    for module in compiled_modules():
        source = ROOT / module
        for built in source.parent.glob(f"{source.stem}.*.so"):
            if built.stat().st_mtime < source.stat().st_mtime:
                stale.append(str(built.relative_to(ROOT)))
    assert not stale, (
        f"compiled before their sources last changed: {', '.join(stale)}; run the README's test "
        "command again (its install compiles them anew), or delete them to test plain Python"
    )


def test_version_says_whether_the_hot_modules_run_compiled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["--version"])
    compiled = Path(bot.diff.__file__).suffix != ".py"
    assert capsys.readouterr().out.strip() == (
        f"top10bot 0.1.0 (compiled: {'yes' if compiled else 'no'})"
    )
