"""The PostgreSQL server the tests use: one throwaway database per test session, one schema per
test inside it, dropped when the session ends.

The server is TOP10BOT_TEST_POSTGRES (default: this machine's, postgresql://postgres@127.0.0.1:5432/
test). When it cannot be reached, PostgreSQL tests are skipped with the reason, except under
CI=true: CI has PostgreSQL, and a skipped suite must not hide a broken backend there.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import asyncpg  # type: ignore[import-untyped]
import pytest

SERVER_URL = os.environ.get("TOP10BOT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")

_session_database = f"top10bot_test_{uuid.uuid4().hex[:12]}"
_created = False
# Why the server could not be reached, once known: every later test is skipped (or failed) at
# once instead of waiting for its own connection to time out.
_unreachable: str | None = None
_schemas = itertools.count(1)


def database_url(database: str, *, search_path: str | None = None) -> str:
    """SERVER_URL pointed at another database (and schema)."""
    parts = urlsplit(SERVER_URL)
    query = f"search_path={search_path}" if search_path else ""
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", query, ""))


def _give_up(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
    pytest.skip(reason)


async def _admin_execute(sql: str) -> None:
    global _unreachable
    if _unreachable is not None:
        _give_up(_unreachable)
    try:
        connection = await asyncpg.connect(SERVER_URL, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        _unreachable = f"PostgreSQL at {SERVER_URL} is unreachable ({type(exc).__name__}: {exc})"
        _give_up(_unreachable)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def fresh_postgres_url() -> str:
    """The URL of a new, empty schema in the session's database (created on first use)."""
    global _created
    if not _created:
        await _admin_execute(f"CREATE DATABASE {_session_database}")
        _created = True
    schema = f"test_{next(_schemas)}"
    connection = await asyncpg.connect(database_url(_session_database))
    try:
        await connection.execute(f"CREATE SCHEMA {schema}")
    finally:
        await connection.close()
    return database_url(_session_database, search_path=schema)


def drop_session_database() -> None:
    """Drop the session's database, if a test made it (its connections are closed by then)."""
    if _created:
        asyncio.run(_admin_execute(f"DROP DATABASE IF EXISTS {_session_database} WITH (FORCE)"))
