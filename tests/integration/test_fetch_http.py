"""The aiohttp client under the conditional fetcher, on a local server: conditional GET, hash
skip, retries, timeouts, solver, proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.sources.conditional import ConditionalFetcher
from bot.sources.http import (
    DEFAULT_USER_AGENT,
    FetchError,
    FetchSettings,
    Validators,
)
from handlers.http import AiohttpClient
from storage import MemoryBackend
from tests.fakes.source_server import Reply, SourceServer

FAST = FetchSettings(timeout=0.5, retries=2, retry_wait=0.01, retry_wait_max=0.02)
PATH = "/data/file.tsv"


def fetcher(
    http: AiohttpClient, storage: MemoryBackend, settings: FetchSettings = FAST
) -> ConditionalFetcher:
    return ConditionalFetcher(http, storage, settings)


async def test_conditional_get_answers_304_after_a_committed_body(
    server: SourceServer, http: AiohttpClient
) -> None:
    storage = MemoryBackend()
    server.put(PATH, "a\tb\n1\t2")
    url = server.base_url.rstrip("/") + PATH
    conditional = fetcher(http, storage)

    first = await conditional.fetch_text(url)
    assert (first.status, first.unchanged, first.text) == (200, False, "a\tb\n1\t2")
    assert "If-None-Match" not in server.hits[-1].headers
    await conditional.commit(first)

    second = await conditional.fetch_text(url)
    assert second.status == 304
    assert second.unchanged and second.text is None
    assert second.unchanged_reason == "304 Not Modified"
    assert server.hits[-1].headers["If-None-Match"] == first.validators.etag
    assert server.hits[-1].headers["If-Modified-Since"] == first.validators.last_modified

    server.put(PATH, "a\tb\n1\t3")
    third = await conditional.fetch_text(url)
    assert (third.status, third.unchanged, third.text) == (200, False, "a\tb\n1\t3")


async def test_a_body_never_committed_is_fetched_in_full_again(
    server: SourceServer, http: AiohttpClient
) -> None:
    # A body rejected as a whole is not committed: the next poll must judge it again, not 304.
    storage = MemoryBackend()
    server.put(PATH, "null")
    url = server.base_url.rstrip("/") + PATH
    conditional = fetcher(http, storage)
    await conditional.fetch_text(url)
    again = await conditional.fetch_text(url)
    assert again.status == 200 and again.text == "null"
    assert "If-None-Match" not in server.hits[-1].headers


async def test_content_hash_skip_without_validators(
    server: SourceServer, http: AiohttpClient
) -> None:
    storage = MemoryBackend()
    server.put(PATH, "same body", validators=False)
    url = server.base_url.rstrip("/") + PATH
    conditional = fetcher(http, storage)
    await conditional.commit(await conditional.fetch_text(url))

    repeat = await conditional.fetch_text(url)
    assert repeat.status == 200
    assert repeat.unchanged and repeat.text is None
    assert repeat.unchanged_reason == "content unchanged (same SHA-256)"

    server.put(PATH, "new body", validators=False)
    changed = await conditional.fetch_text(url)
    assert not changed.unchanged and changed.text == "new body"


async def test_5xx_is_retried_then_succeeds(server: SourceServer, http: AiohttpClient) -> None:
    server.put(PATH, "ok")
    server.script(PATH, Reply(503, "busy"), Reply(502, "bad gateway"))
    url = server.base_url.rstrip("/") + PATH
    result = await fetcher(http, MemoryBackend()).fetch_text(url)
    assert result.text == "ok"
    assert [hit.status for hit in server.hits] == [503, 502, 200]


async def test_5xx_that_persists_fails_after_the_configured_attempts(
    server: SourceServer, http: AiohttpClient
) -> None:
    server.script(PATH, *(Reply(500, "oops") for _ in range(5)))
    url = server.base_url.rstrip("/") + PATH
    with pytest.raises(FetchError) as caught:
        await fetcher(http, MemoryBackend()).fetch_text(url)
    assert caught.value.status == 500
    assert caught.value.url == url
    assert server.count(PATH) == FAST.retries + 1


@pytest.mark.parametrize("status", [403, 404])
async def test_4xx_is_not_retried(server: SourceServer, http: AiohttpClient, status: int) -> None:
    server.script(PATH, Reply(status, "no"))
    url = server.base_url.rstrip("/") + PATH
    with pytest.raises(FetchError) as caught:
        await fetcher(http, MemoryBackend()).fetch_text(url)
    assert caught.value.status == status
    assert f"HTTP {status}" in caught.value.reason
    assert server.count(PATH) == 1


async def test_timeout_is_retried_then_succeeds(server: SourceServer, http: AiohttpClient) -> None:
    server.put(PATH, "late but fine")
    server.script(PATH, Reply(200, "too slow", delay=0.5))
    url = server.base_url.rstrip("/") + PATH
    settings = FetchSettings(timeout=0.2, retries=1, retry_wait=0.01, retry_wait_max=0.02)
    result = await fetcher(http, MemoryBackend(), settings).fetch_text(url)
    assert result.text == "late but fine"
    assert server.count(PATH) == 2


async def test_timeouts_that_persist_become_a_fetch_error(
    server: SourceServer, http: AiohttpClient
) -> None:
    server.script(PATH, Reply(200, "slow", delay=0.5), Reply(200, "slow", delay=0.5))
    url = server.base_url.rstrip("/") + PATH
    settings = FetchSettings(timeout=0.2, retries=1, retry_wait=0.01, retry_wait_max=0.02)
    with pytest.raises(FetchError) as caught:
        await fetcher(http, MemoryBackend(), settings).fetch_text(url)
    assert "timed out after 2 attempts" in caught.value.reason
    assert caught.value.url == url


async def test_a_body_cut_short_is_a_fetch_error(server: SourceServer, http: AiohttpClient) -> None:
    server.script(PATH, Reply(200, "x" * 5000, cut_after=100))
    url = server.base_url.rstrip("/") + PATH
    with pytest.raises(FetchError, match="body cut short"):
        await fetcher(http, MemoryBackend()).fetch_text(url)


async def test_user_agent_is_honest_by_default_and_configurable(
    server: SourceServer, http: AiohttpClient
) -> None:
    server.put(PATH, "ok")
    url = server.base_url.rstrip("/") + PATH
    await fetcher(http, MemoryBackend()).fetch_text(url)
    assert server.hits[-1].headers["User-Agent"] == DEFAULT_USER_AGENT
    assert DEFAULT_USER_AGENT.startswith("top10bot/")
    custom = FetchSettings(user_agent="my-mirror-bot/1.0", retry_wait=0.01)
    await fetcher(http, MemoryBackend(), custom).fetch_text(url)
    assert server.hits[-1].headers["User-Agent"] == "my-mirror-bot/1.0"


async def test_fetch_to_file_streams_to_disk_and_is_conditional(
    server: SourceServer, http: AiohttpClient, tmp_path: Path
) -> None:
    body = ("row\t" * 20 + "\n") * 20_000  # ~1.6 MB, many chunks
    server.put(PATH, body)
    url = server.base_url.rstrip("/") + PATH
    storage = MemoryBackend()
    conditional = fetcher(http, storage)
    target = tmp_path / "big.tsv"
    result = await conditional.fetch_to_file(url, target)
    assert result.text is None and result.path == target
    assert target.read_text(encoding="utf-8") == body
    assert result.size == len(body.encode())
    await conditional.commit(result)
    again = await conditional.fetch_to_file(url, tmp_path / "again.tsv")
    assert again.unchanged and again.status == 304


async def test_solver_fetches_through_flaresolverr_style_endpoint(
    server: SourceServer, http: AiohttpClient
) -> None:
    server.put("/top10/netflix/world/2026-03-10/", "<html>page</html>", content_type="text/html")
    settings = FetchSettings(solver_url=server.solver_url, retry_wait=0.01)
    url = "https://flixpatrol.invalid/top10/netflix/world/2026-03-10/"
    result = await fetcher(http, MemoryBackend(), settings).fetch_text(url)
    assert result.text == "<html>page</html>"
    assert result.final_url == url
    assert server.paths(via="solver") == ["/top10/netflix/world/2026-03-10/"]


async def test_solver_passes_on_the_target_status(
    server: SourceServer, http: AiohttpClient
) -> None:
    path = "/top10/netflix/world/2026-03-10/"
    server.script(path, Reply(503, "down"), Reply(403, "blocked"))
    settings = FetchSettings(solver_url=server.solver_url, retries=3, retry_wait=0.01)
    with pytest.raises(FetchError) as caught:
        await fetcher(http, MemoryBackend(), settings).fetch_text(
            "https://flixpatrol.invalid" + path
        )
    assert caught.value.status == 403  # the 503 was retried, the 403 was not
    assert server.count(path) == 2


async def test_proxy_carries_requests_for_any_host(
    server: SourceServer, http: AiohttpClient
) -> None:
    server.put(PATH, "via proxy")
    settings = FetchSettings(proxy=server.proxy_url, retry_wait=0.01)
    result = await fetcher(http, MemoryBackend(), settings).fetch_text(
        "http://www.netflix.invalid" + PATH
    )
    assert result.text == "via proxy"
    assert server.paths(via="proxy") == [PATH]


def test_validators_survive_a_broken_record() -> None:
    known = Validators(
        etag='"x"', last_modified="Thu, 01 Jan 2026 01:00:00 GMT", sha256="ab", size=3
    )
    assert Validators.from_json(known.to_json()) == known
    assert Validators.from_json("not json") == Validators()
    assert Validators.from_json('["a list"]') == Validators()
    assert Validators.from_json(None) == Validators()
