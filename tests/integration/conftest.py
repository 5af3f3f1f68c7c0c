"""Fixtures of the fetch, poll and scheduler tests: the local source server and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from handlers.http import AiohttpClient, open_http_client
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


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_test_database() -> Iterator[None]:
    yield
    drop_session_database()
