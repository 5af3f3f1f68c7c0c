"""Build script: everything else is in pyproject.toml.

The modules a replay spends its time in (parsing, the gate, the diff, the events and their
encodings) are compiled with mypyc, which turns their type-checked Python into a C extension:
bench/replay.py takes about a quarter less time. It needs a C compiler and the Python headers;
without them the build warns and the modules stay plain Python, which behaves the same. Set
TOP10BOT_PURE_PYTHON=1 to skip compiling.
"""

from __future__ import annotations

import os
import sys

from setuptools import Extension, setup

# Also read by tests/unit/test_compiled_build.py. Modules with async code stay plain Python: in
# bot/pipeline.py, compiled, a save's error raised across an await came out as a SystemError, and
# mypyc does not compile storage/sqlite.py's async generators.
COMPILED_MODULES = [
    "bot/diff.py",
    "bot/events.py",
    "bot/models.py",
    "bot/validate.py",
    "bot/sources/files.py",
    "bot/sources/netflix.py",
    "storage/codec.py",
]


def compiled_extensions() -> list[Extension]:
    if os.environ.get("TOP10BOT_PURE_PYTHON"):
        return []
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        from mypyc.build import mypycify

        extensions: list[Extension] = mypycify(
            ["--python-version", version, *COMPILED_MODULES], opt_level="3"
        )
    except (Exception, SystemExit) as exc:  # mypyc exits when its type check fails
        print(f"top10bot: not compiling, plain Python instead ({exc!r})", file=sys.stderr)
        return []
    for extension in extensions:
        extension.optional = True  # a failed compile leaves the plain Python module in use
    return extensions


setup(ext_modules=compiled_extensions())
