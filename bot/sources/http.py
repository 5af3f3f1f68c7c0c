"""What the live sources ask of HTTP, as plain values and one port: the core never sees aiohttp.

- `HttpClient` is the port: GET a page into memory or a large file to disk, sending the
  validators of the last processed body, with a source's `FetchSettings`. `handlers/http.py`
  implements it with aiohttp (one session, retries for 5xx and timeouts, the solver).
- `FetchResult`, `Validators` and the `FetchError` taxonomy are what both sides speak.
- `ConditionalFetcher` (bot/sources/conditional.py) keeps the validators in the store and decides
  what "unchanged" means; the client only carries them over the wire.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Protocol

from bot import __version__

# Honest: says what we are and where to complain. Some servers answer 403 to it; the operator can
# then set another `user_agent` per source, knowingly.
DEFAULT_USER_AGENT: Final = f"top10bot/{__version__} (+https://github.com/top10bot)"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_RETRIES: Final = 3
# How many processed bodies' sizes are kept per URL for the size baseline.
RECENT_SIZES: Final = 5


@dataclass(frozen=True, slots=True)
class FetchSettings:
    """How one source fetches. Every field has a config key in `[sources.<name>]`."""

    timeout: float = DEFAULT_TIMEOUT  # seconds to connect, and between two reads
    retries: int = DEFAULT_RETRIES  # extra attempts after a 5xx or a timeout
    user_agent: str = DEFAULT_USER_AGENT
    proxy: str | None = None  # http://host:port, used for every request of the source
    solver_url: str | None = None  # FlareSolverr-style endpoint, e.g. http://localhost:8191/v1
    retry_wait: float = 2.0  # first backoff in seconds; doubles each attempt, plus jitter
    retry_wait_max: float = 60.0


class FetchError(Exception):
    """A fetch that produced no body worth parsing (after any retries). `refused_body` holds the
    validators of a body that came whole and was refused as read (not text, too large): the
    same body can then be refused again without downloading it."""

    def __init__(
        self,
        reason: str,
        *,
        url: str,
        status: int | None = None,
        refused_body: Validators | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url
        self.status = status
        self.refused_body = refused_body

    @property
    def transient(self) -> bool:
        """Worth retrying at once: the server failed (5xx), not the request."""
        return self.status is not None and self.status >= 500

    def __str__(self) -> str:
        return f"{self.url}: {self.reason}"


def is_transient(error: BaseException) -> bool:
    """5xx answers and timeouts are retried; everything else fails at once."""
    if isinstance(error, FetchError):
        return error.transient
    return isinstance(error, TimeoutError)


@dataclass(frozen=True, slots=True)
class Validators:
    """What we know about the last processed body of one URL."""

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    size: int | None = None  # bytes
    # Sizes of the last few bodies downloaded (refused ones too), oldest first: their median is
    # the size a body is expected to have, so one odd body (cut, or padded) cannot move the
    # baseline on its own, and a baseline set by one odd body is outvoted by the next ones.
    recent_sizes: tuple[int, ...] = ()
    # Sent in If-None-Match beside `etag`, never stored with it: the ETag of the last body refused
    # as a whole, so a broken file that has not changed costs a 304 instead of a download.
    other_etags: tuple[str, ...] = ()

    def baseline_size(self) -> int | None:
        """The median of the recent processed sizes (the last size for older records)."""
        sizes = sorted(self.recent_sizes) or ([self.size] if self.size else [])
        return sizes[(len(sizes) - 1) // 2] if sizes else None  # the lower median

    def with_size(self, size: int) -> Validators:
        """These validators with `size` added to the recent sizes."""
        earlier = self.recent_sizes or ((self.size,) if self.size else ())
        return replace(self, recent_sizes=(*earlier, size)[-RECENT_SIZES:])

    def request_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        etags = [etag for etag in dict.fromkeys((self.etag, *self.other_etags)) if etag]
        if etags:
            headers["If-None-Match"] = ", ".join(etags)
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def to_json(self) -> str:
        return json.dumps(
            {
                "etag": self.etag,
                "last_modified": self.last_modified,
                "sha256": self.sha256,
                "size": self.size,
                "recent_sizes": list(self.recent_sizes),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | None) -> Validators:
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except ValueError:
            return cls()  # an unreadable record only costs one full fetch
        if not isinstance(data, dict):
            return cls()
        return cls(
            etag=str_or_none(data.get("etag")),
            last_modified=str_or_none(data.get("last_modified")),
            sha256=str_or_none(data.get("sha256")),
            size=_int_or_none(data.get("size")),
            recent_sizes=_sizes(data.get("recent_sizes")),
        )


def _sizes(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(size for size in map(_int_or_none, value) if size is not None)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def str_or_none(value: Any) -> str | None:
    """A non-empty string, or None (for header and JSON values of unknown shape)."""
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetched URL. `unchanged` means: nothing new since the last committed body."""

    url: str
    final_url: str  # after redirects (or what the solver reports)
    status: int  # 200, or 304 for a conditional GET that matched
    validators: Validators  # to commit once the body has been used
    unchanged: bool
    text: str | None = None  # fetch_text: the decoded body (None when unchanged)
    path: Path | None = None  # fetch_to_file: where the body was written
    size: int = 0
    content_type: str = ""
    baseline_size: int | None = None  # the median size of the recent processed bodies
    # Set when the body is the one last refused as a whole (same SHA-256, or a 304 naming its
    # ETag): the reason it was refused. Such a body is not parsed again.
    refused_before: str | None = None

    def shrink_problem(self, factor: float = 0.5) -> str | None:
        """A body far smaller than usual: a cut or emptied file, not news."""
        if self.unchanged or not self.baseline_size or self.size >= self.baseline_size * factor:
            return None
        return (
            f"body far smaller than usual ({self.size} bytes, median of recent bodies"
            f" {self.baseline_size} bytes)"
        )

    @property
    def refused_again_reason(self) -> str:
        return f"unchanged since refused: {self.refused_before}"

    @property
    def unchanged_reason(self) -> str:
        return "304 Not Modified" if self.status == 304 else "content unchanged (same SHA-256)"


def not_modified(url: str, final_url: str, known: Validators, etag: str | None) -> FetchResult:
    """The answer to a conditional GET that matched. Its validators are the known ones with the
    ETag the 304 named (None when it named none): several may have been sent, and which one
    matched tells a processed body from a refused one."""
    validators = replace(known, etag=etag, other_etags=())
    return FetchResult(
        url=url, final_url=final_url, status=304, validators=validators, unchanged=True
    )


class HttpClient(Protocol):
    """GETs for the live sources. Raises FetchError (after any retries) when no body came."""

    async def fetch_text(self, url: str, settings: FetchSettings, known: Validators) -> FetchResult:
        """A page or a small file into memory (through the solver when one is configured)."""
        ...

    async def fetch_to_file(
        self, url: str, path: Path, settings: FetchSettings, known: Validators
    ) -> FetchResult:
        """A large file straight to `path`, chunk by chunk, hashing as it goes."""
        ...
