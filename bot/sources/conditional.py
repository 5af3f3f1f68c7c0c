"""Conditional GET over the `HttpClient` port, with the validators kept in the store.

- The ETag / Last-Modified of the last body that was *processed* are kept in the store
  (`Storage.get_meta`), and a 304 means "unchanged". A server without validators still costs
  nothing: a body whose SHA-256 equals the last processed one is reported unchanged too.
- Validators are written by `commit` only after the caller has used the body. A body that was
  then rejected as a whole (HTML, `null`, wrong header) is never committed, so the next poll
  fetches and judges it again instead of trusting a 304 for a broken file.
- A 304 to a request that sent no validator answers nothing: it is a failed fetch.
- The sizes of the last few bodies downloaded are kept with the validators (refused bodies too);
  a new body is compared with their median, so one oversized body cannot make every normal one
  look "far smaller" for good.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Final

from bot.ports import Storage
from bot.sources.http import FetchError, FetchResult, FetchSettings, HttpClient, Validators

META_PREFIX: Final = "http:"


class ConditionalFetcher:
    """Fetches URLs for one source with its settings, keeping validators in the store."""

    def __init__(self, client: HttpClient, storage: Storage, settings: FetchSettings) -> None:
        self._client = client
        self._storage = storage
        self._settings = settings

    async def stored_validators(self, url: str) -> Validators:
        return Validators.from_json(await self._storage.get_meta(META_PREFIX + url))

    async def commit(self, result: FetchResult) -> None:
        """Remember a body as processed: the next fetch of its URL may answer 304 / unchanged."""
        if result.unchanged:
            return
        stored = await self.stored_validators(result.url)
        validators = replace(result.validators, recent_sizes=stored.recent_sizes)
        await self._storage.set_meta(META_PREFIX + result.url, validators.to_json())

    async def fetch_text(self, url: str, *, conditional: bool = True) -> FetchResult:
        """GET a page or a small file into memory."""
        known = await self.stored_validators(url) if conditional else Validators()
        result = await self._client.fetch_text(url, self._settings, known)
        return await self._judged(result, known, conditional=conditional)

    async def fetch_to_file(self, url: str, path: Path, *, conditional: bool = True) -> FetchResult:
        """GET a large file straight to `path`."""
        known = await self.stored_validators(url) if conditional else Validators()
        result = await self._client.fetch_to_file(url, path, self._settings, known)
        return await self._judged(result, known, conditional=conditional)

    async def _judged(
        self, result: FetchResult, known: Validators, *, conditional: bool
    ) -> FetchResult:
        """The result marked unchanged or not, with the size baseline it is judged by; the size
        of a new body is remembered at once, whether the body is later used or refused."""
        result = _mark_unchanged(result, known)
        if conditional and not result.unchanged:
            await self._storage.set_meta(
                META_PREFIX + result.url, known.with_size(result.size).to_json()
            )
        return result


def _mark_unchanged(result: FetchResult, known: Validators) -> FetchResult:
    if result.status == 304 and not known.request_headers():
        # "Not modified" since what? Nothing was asked: a broken cache or server, not news.
        raise FetchError("304 Not Modified to a request without validators", url=result.url)
    result = replace(result, baseline_size=known.baseline_size())
    if result.unchanged or known.sha256 is None or result.validators.sha256 != known.sha256:
        return result
    return replace(result, unchanged=True, text=None)
