"""Fixtures of the fetch, poll and scheduler tests: the local source server, an HTTP client, and
a SQLite store in the test's directory; the PostgreSQL tests' database goes when the session ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.ports import Storage
from handlers.http import AiohttpClient, open_http_client
from storage import open_backend
from tests.fakes.source_server import SourceServer
from tests.integration.postgres_server import drop_session_database


@pytest.fixture
async def server() -> AsyncIterator[SourceServer]:
    async with SourceServer() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[AiohttpClient]:
    async with open_http_client() as client:
        yield client


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await open_backend(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_test_database() -> Iterator[None]:
    yield
    drop_session_database()
