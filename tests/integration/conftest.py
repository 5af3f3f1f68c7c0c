"""Fixtures shared by the fetch, poll and scheduler tests: the local source server and a session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.sources.fetch import create_session
from tests.fakes.source_server import SourceServer


@pytest.fixture
async def server() -> AsyncIterator[SourceServer]:
    async with SourceServer() as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with create_session() as client:
        yield client
