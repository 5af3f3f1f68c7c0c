"""Conditional GET over the `HttpClient` port, with the validators kept in the store.

- The ETag / Last-Modified of the last body that was *processed* are kept in the store
  (`Storage.get_meta`), and a 304 means "unchanged". A server without validators still costs
  nothing: a body whose SHA-256 equals the last processed one is reported unchanged too.
- Validators are written by `commit` only after the caller has used the body. A body that was
  then rejected as a whole (HTML, `null`, wrong header) is never committed as processed.
- Such a body is remembered apart, as *refused* (`refuse`: its ETag, SHA-256 and reason), so a
  broken 31 MB file does not cost 31 MB a poll: its ETag goes out in If-None-Match beside the
  processed one, and a 304 naming it — or a body with its SHA-256 — comes back as
  `refused_before`, refused again with the same reason without being parsed. If-Modified-Since
  stays the processed body's: one date cannot say which of two bodies it means. A new body is
  judged afresh; committing a processed body forgets the refusal. A body the client itself
  refused as it read it (not text) is remembered the same way, by its ETag.
- A 304 to a request that sent no validator answers nothing: it is a failed fetch.
- The sizes of the last few new bodies downloaded are kept with the validators (bodies refused
  once too, not their repeats); a new body is compared with their median, so one oversized body
  cannot make every normal one look "far smaller" for good.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from bot.ports import Storage
from bot.sources.http import (
    FetchError,
    FetchResult,
    FetchSettings,
    HttpClient,
    Validators,
    str_or_none,
)

META_PREFIX: Final = "http:"
REFUSED_PREFIX: Final = "http-refused:"


@dataclass(frozen=True, slots=True)
class RefusedBody:
    """The last body of one URL that was refused as a whole, and why."""

    reason: str
    etag: str | None = None
    sha256: str | None = None

    def matches(self, result: FetchResult, processed: Validators) -> bool:
        """Whether `result` is this body again: the same bytes, or a 304 that does not name the
        processed body (the refused one was the last seen, so a 304 naming none means it)."""
        if result.status == 304:
            named = result.validators.etag
            return bool(self.etag) and not (processed.etag and named == processed.etag)
        return self.sha256 is not None and result.validators.sha256 == self.sha256

    def to_json(self) -> str:
        record = {"reason": self.reason, "etag": self.etag, "sha256": self.sha256}
        return json.dumps(record, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> RefusedBody | None:
        try:
            data = json.loads(text) if text else None
        except ValueError:
            return None  # an unreadable record only costs one full fetch
        reason = str_or_none(data.get("reason")) if isinstance(data, dict) else None
        if not isinstance(data, dict) or reason is None:
            return None
        return cls(reason, str_or_none(data.get("etag")), str_or_none(data.get("sha256")))


class ConditionalFetcher:
    """Fetches URLs for one source with its settings, keeping validators in the store."""

    def __init__(self, client: HttpClient, storage: Storage, settings: FetchSettings) -> None:
        self._client = client
        self._storage = storage
        self._settings = settings

    async def stored_validators(self, url: str) -> Validators:
        return Validators.from_json(await self._storage.get_meta(META_PREFIX + url))

    async def refused_body(self, url: str) -> RefusedBody | None:
        return RefusedBody.from_json(await self._storage.get_meta(REFUSED_PREFIX + url))

    async def commit(self, result: FetchResult) -> None:
        """Remember a body as processed: the next fetch of its URL may answer 304 / unchanged,
        and an earlier refusal at that URL is over."""
        if result.unchanged:
            return
        stored = await self.stored_validators(result.url)
        validators = replace(result.validators, recent_sizes=stored.recent_sizes)
        await self._storage.set_meta(META_PREFIX + result.url, validators.to_json())
        if await self.refused_body(result.url) is not None:
            await self._storage.set_meta(REFUSED_PREFIX + result.url, "")

    async def refuse(self, result: FetchResult, reason: str) -> None:
        """Remember a refused body, so the same body is refused again unread (a 304 or the same
        SHA-256) until the source changes it: a changed body is judged afresh, and the charts
        still missing come with it. Not for a refusal that depends on more than the bytes (the
        size compared with recent downloads)."""
        if result.unchanged or result.refused_before is not None:
            return
        if reason == result.shrink_problem():
            # Judged by the median of recent sizes, which each new download moves, not by the
            # bytes alone: a file that really got smaller is accepted after a few polls.
            return
        record = RefusedBody(reason, result.validators.etag, result.validators.sha256)
        await self._storage.set_meta(REFUSED_PREFIX + result.url, record.to_json())

    async def fetch_text(self, url: str, *, conditional: bool = True) -> FetchResult:
        """GET a page or a small file into memory."""
        known, refused = await self._known(url, conditional)
        async with self._refusing(url, conditional):
            result = await self._client.fetch_text(url, self._settings, _asking(known, refused))
        return await self._judged(result, known, refused, conditional=conditional)

    async def fetch_to_file(self, url: str, path: Path, *, conditional: bool = True) -> FetchResult:
        """GET a large file straight to `path`."""
        known, refused = await self._known(url, conditional)
        asking = _asking(known, refused)
        async with self._refusing(url, conditional):
            result = await self._client.fetch_to_file(url, path, self._settings, asking)
        return await self._judged(result, known, refused, conditional=conditional)

    @asynccontextmanager
    async def _refusing(self, url: str, conditional: bool) -> AsyncIterator[None]:
        """A body the client refused as it read it (not text) is remembered as refused too."""
        try:
            yield
        except FetchError as exc:
            body = exc.refused_body
            if conditional and body is not None and (body.etag or body.sha256):
                record = RefusedBody(f"fetch failed: {exc.reason}", body.etag, body.sha256)
                await self._storage.set_meta(REFUSED_PREFIX + url, record.to_json())
            raise

    async def _known(self, url: str, conditional: bool) -> tuple[Validators, RefusedBody | None]:
        if not conditional:
            return Validators(), None
        return await self.stored_validators(url), await self.refused_body(url)

    async def _judged(
        self,
        result: FetchResult,
        known: Validators,
        refused: RefusedBody | None,
        *,
        conditional: bool,
    ) -> FetchResult:
        """The result marked unchanged, refused before, or new, with the size baseline it is
        judged by; the size of a new body is remembered at once, whether it is later used or
        refused."""
        if result.status == 304 and not _asking(known, refused).request_headers():
            # "Not modified" since what? Nothing was asked: a broken cache or server, not news.
            raise FetchError("304 Not Modified to a request without validators", url=result.url)
        if refused is not None and refused.matches(result, known):
            return replace(result, unchanged=False, text=None, refused_before=refused.reason)
        result = _mark_unchanged(replace(result, baseline_size=known.baseline_size()), known)
        if conditional and not result.unchanged:
            await self._storage.set_meta(
                META_PREFIX + result.url, known.with_size(result.size).to_json()
            )
        return result


def _asking(known: Validators, refused: RefusedBody | None) -> Validators:
    """What the request sends: the processed body's validators, and the refused body's ETag."""
    if refused is None or not refused.etag:
        return known
    return replace(known, other_etags=(refused.etag,))


def _mark_unchanged(result: FetchResult, known: Validators) -> FetchResult:
    if result.unchanged or known.sha256 is None or result.validators.sha256 != known.sha256:
        return result
    return replace(result, unchanged=True, text=None)
