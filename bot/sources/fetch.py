"""HTTP fetching shared by every live source: one session, retries, conditional GET, hash skip.

- One `aiohttp.ClientSession` for the whole process (`create_session`); each source passes its own
  timeout, User-Agent and proxy per request, so sources never need sessions of their own.
- Retries (tenacity: exponential backoff with jitter) only for 5xx answers and timeouts. A 4xx, a
  refused connection or a bad body is not retried: asking again within seconds changes nothing,
  and the next scheduled poll tries again anyway.
- Conditional GET: the ETag / Last-Modified of the last body that was *processed* are kept in the
  store (`Storage.get_meta`), and a 304 means "unchanged". A server without validators still costs
  nothing: a body whose SHA-256 equals the last processed one is reported unchanged too.
- Validators are written by `HttpFetcher.commit` only after the caller has used the body. A body
  that was then rejected as a whole (HTML, `null`, wrong header) is never committed, so the next
  poll fetches and judges it again instead of trusting a 304 for a broken file.
- FlixPatrol challenges non-browser clients: a FlareSolverr-style solver (`POST {"cmd":
  "request.get", "url": …}` to its `/v1`) or a plain HTTP proxy can be configured.

Also here, shared by the source fetchers: `SourceRun` (what one poll of one source works with:
every chart it accepts or refuses goes through the one pipeline) and `SectionReader` (typed,
typo-proof reading of a `[sources.<name>]` table).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot import __version__
from bot.config import ConfigError
from bot.models import Chart, ChartKey
from bot.pipeline import Pipeline, PipelineStats
from bot.ports import Storage

log = logging.getLogger(__name__)

# Honest: says what we are and where to complain. Some servers answer 403 to it; the operator can
# then set another `user_agent` per source, knowingly.
DEFAULT_USER_AGENT: Final = f"top10bot/{__version__} (+https://github.com/top10bot)"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_RETRIES: Final = 3
# A whole download may take this many times the per-read timeout (the 31 MB Netflix file on a slow
# line), but never forever: a server dripping one byte per read timeout would otherwise hang a poll.
TOTAL_TIMEOUT_FACTOR: Final = 10
# Bodies read into memory (everything but the big Netflix file, which goes to disk) stop here.
MAX_TEXT_BYTES: Final = 20 * 1024 * 1024
_CHUNK: Final = 64 * 1024
META_PREFIX: Final = "http:"

T = TypeVar("T")


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

    def client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(
            total=self.timeout * TOTAL_TIMEOUT_FACTOR,
            connect=self.timeout,
            sock_read=self.timeout,
        )


class FetchError(Exception):
    """A fetch that produced no body worth parsing (after any retries)."""

    def __init__(self, reason: str, *, url: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url
        self.status = status

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
    size: int | None = None  # bytes: a body far smaller than the last one is a cut file

    def request_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
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
            etag=_str_or_none(data.get("etag")),
            last_modified=_str_or_none(data.get("last_modified")),
            sha256=_str_or_none(data.get("sha256")),
            size=_int_or_none(data.get("size")),
        )


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: Any) -> str | None:
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
    previous_size: int | None = None  # of the last processed body of this URL

    def shrink_problem(self, factor: float = 0.5) -> str | None:
        """A body far smaller than the last processed one: a cut or emptied file, not news."""
        if self.unchanged or not self.previous_size or self.size >= self.previous_size * factor:
            return None
        return (
            f"body far smaller than usual ({self.size} bytes, last processed"
            f" {self.previous_size} bytes)"
        )

    @property
    def unchanged_reason(self) -> str:
        return "304 Not Modified" if self.status == 304 else "content unchanged (same SHA-256)"


def create_session() -> aiohttp.ClientSession:
    """The process-wide session. Per-source settings are passed per request."""
    return aiohttp.ClientSession(
        headers={"User-Agent": DEFAULT_USER_AGENT},
        timeout=aiohttp.ClientTimeout(
            total=DEFAULT_TIMEOUT * TOTAL_TIMEOUT_FACTOR,
            connect=DEFAULT_TIMEOUT,
            sock_read=DEFAULT_TIMEOUT,
        ),
        # Netflix's old host redirects to the new one; aiohttp follows up to 10 by default.
        raise_for_status=False,
    )


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning(
        "fetch attempt %d failed (%s); retrying in %.1fs", state.attempt_number, error, wait
    )


class HttpFetcher:
    """Fetches URLs for one source with its settings, keeping validators in the store."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        storage: Storage,
        settings: FetchSettings,
    ) -> None:
        self._session = session
        self._storage = storage
        self._settings = settings

    async def _retrying(self, attempt: Callable[[], Awaitable[T]]) -> T:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._settings.retries + 1),
            wait=wait_exponential_jitter(
                multiplier=self._settings.retry_wait,
                max=self._settings.retry_wait_max,
                jitter=self._settings.retry_wait,
            ),
            retry=retry_if_exception(is_transient),
            before_sleep=_log_retry,
            reraise=True,
        )
        try:
            async for attempt_state in retrying:
                with attempt_state:
                    return await attempt()
        except TimeoutError as exc:
            raise FetchError(
                f"timed out after {self._settings.retries + 1} attempts", url=""
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or re-raises")

    async def stored_validators(self, url: str) -> Validators:
        return Validators.from_json(await self._storage.get_meta(META_PREFIX + url))

    async def commit(self, result: FetchResult) -> None:
        """Remember a body as processed: the next fetch of its URL may answer 304 / unchanged."""
        if result.unchanged:
            return
        await self._storage.set_meta(META_PREFIX + result.url, result.validators.to_json())

    async def fetch_text(self, url: str, *, conditional: bool = True) -> FetchResult:
        """GET a page or a small file into memory (through the solver when one is configured)."""
        known = await self.stored_validators(url) if conditional else Validators()
        try:
            if self._settings.solver_url:
                result = await self._retrying(lambda: self._solve(url))
            else:
                result = await self._retrying(lambda: self._get_text(url, known))
        except FetchError as exc:
            raise _with_url(exc, url) from exc.__cause__
        return _mark_unchanged(result, known)

    async def fetch_to_file(self, url: str, path: Path, *, conditional: bool = True) -> FetchResult:
        """GET a large file straight to `path`, chunk by chunk, hashing as it goes."""
        known = await self.stored_validators(url) if conditional else Validators()
        try:
            result = await self._retrying(lambda: self._get_file(url, path, known))
        except FetchError as exc:
            raise _with_url(exc, url) from exc.__cause__
        return _mark_unchanged(result, known)

    def _request_kwargs(self, known: Validators) -> dict[str, Any]:
        headers = {"User-Agent": self._settings.user_agent, **known.request_headers()}
        kwargs: dict[str, Any] = {"headers": headers, "timeout": self._settings.client_timeout()}
        if self._settings.proxy:
            kwargs["proxy"] = self._settings.proxy
        return kwargs

    async def _get_text(self, url: str, known: Validators) -> FetchResult:
        try:
            async with self._session.get(url, **self._request_kwargs(known)) as response:
                if response.status == 304:
                    return _not_modified(url, str(response.url), known)
                _raise_for_status(url, response.status, response.reason)
                digest = hashlib.sha256()
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(_CHUNK):
                    size += len(chunk)
                    if size > MAX_TEXT_BYTES:
                        raise FetchError(f"body larger than {MAX_TEXT_BYTES} bytes", url=url)
                    digest.update(chunk)
                    chunks.append(chunk)
                body = b"".join(chunks)
                charset = response.charset or "utf-8"
                return FetchResult(
                    url=url,
                    final_url=str(response.url),
                    status=response.status,
                    validators=_validators_of(response.headers, digest.hexdigest(), size),
                    unchanged=False,
                    text=body.decode(charset, errors="replace"),
                    size=size,
                    content_type=response.content_type,
                )
        except aiohttp.ClientPayloadError as exc:
            raise FetchError(f"body cut short ({exc})", url=url) from exc
        except aiohttp.ClientError as exc:
            if isinstance(exc, TimeoutError):
                raise
            raise FetchError(f"connection failed ({type(exc).__name__}: {exc})", url=url) from exc

    async def _get_file(self, url: str, path: Path, known: Validators) -> FetchResult:
        try:
            async with self._session.get(url, **self._request_kwargs(known)) as response:
                if response.status == 304:
                    return _not_modified(url, str(response.url), known)
                _raise_for_status(url, response.status, response.reason)
                digest = hashlib.sha256()
                size = 0
                with path.open("wb") as handle:
                    async for chunk in response.content.iter_chunked(_CHUNK):
                        size += len(chunk)
                        digest.update(chunk)
                        handle.write(chunk)
                return FetchResult(
                    url=url,
                    final_url=str(response.url),
                    status=response.status,
                    validators=_validators_of(response.headers, digest.hexdigest(), size),
                    unchanged=False,
                    path=path,
                    size=size,
                    content_type=response.content_type,
                )
        except aiohttp.ClientPayloadError as exc:
            raise FetchError(f"body cut short ({exc})", url=url) from exc
        except aiohttp.ClientError as exc:
            if isinstance(exc, TimeoutError):
                raise
            raise FetchError(f"connection failed ({type(exc).__name__}: {exc})", url=url) from exc

    async def _solve(self, url: str) -> FetchResult:
        """Ask a FlareSolverr-style endpoint to fetch `url` in a real browser."""
        assert self._settings.solver_url is not None
        command: dict[str, Any] = {
            "cmd": "request.get",
            "url": url,
            "maxTimeout": int(self._settings.timeout * 1000),
        }
        if self._settings.proxy:
            command["proxy"] = {"url": self._settings.proxy}
        solver = self._settings.solver_url
        try:
            async with self._session.post(
                solver,
                json=command,
                headers={"User-Agent": self._settings.user_agent},
                # The solver itself runs a browser: give it the page timeout plus its own margin.
                timeout=aiohttp.ClientTimeout(
                    total=self._settings.timeout * TOTAL_TIMEOUT_FACTOR,
                    connect=self._settings.timeout,
                    sock_read=self._settings.timeout * 2,
                ),
            ) as response:
                _raise_for_status(url, response.status, f"solver answered {response.reason}")
                answer = await response.json(content_type=None)
        except aiohttp.ClientError as exc:
            if isinstance(exc, TimeoutError):
                raise
            raise FetchError(f"solver unreachable ({type(exc).__name__}: {exc})", url=url) from exc
        except ValueError as exc:
            raise FetchError("solver answered something that is not JSON", url=url) from exc
        return _solver_result(url, answer)


def _with_url(error: FetchError, url: str) -> FetchError:
    if error.url:
        return error
    return FetchError(error.reason, url=url, status=error.status)


def _raise_for_status(url: str, status: int, reason: str | None) -> None:
    if status >= 400:
        raise FetchError(f"HTTP {status} {reason or ''}".strip(), url=url, status=status)


def _validators_of(headers: Any, sha256: str, size: int) -> Validators:
    return Validators(
        etag=headers.get("ETag"),
        last_modified=headers.get("Last-Modified"),
        sha256=sha256,
        size=size,
    )


def _not_modified(url: str, final_url: str, known: Validators) -> FetchResult:
    return FetchResult(url=url, final_url=final_url, status=304, validators=known, unchanged=True)


def _mark_unchanged(result: FetchResult, known: Validators) -> FetchResult:
    result = replace(result, previous_size=known.size)
    if result.unchanged or known.sha256 is None or result.validators.sha256 != known.sha256:
        return result
    return replace(result, unchanged=True, text=None)


def _solver_result(url: str, answer: Any) -> FetchResult:
    if not isinstance(answer, dict):
        raise FetchError("solver answered an unexpected JSON value", url=url)
    if answer.get("status") != "ok":
        message = answer.get("message") or answer.get("status") or "no status"
        raise FetchError(f"solver failed: {message}", url=url)
    solution = answer.get("solution")
    if not isinstance(solution, dict):
        raise FetchError("solver answer has no solution", url=url)
    status = solution.get("status")
    if not isinstance(status, int):
        raise FetchError("solver answer has no HTTP status", url=url)
    _raise_for_status(url, status, "(through the solver)")
    body = solution.get("response")
    if not isinstance(body, str):
        raise FetchError("solver answer has no response body", url=url)
    raw_headers = solution.get("headers")
    headers: dict[str, Any] = raw_headers if isinstance(raw_headers, dict) else {}
    encoded = body.encode("utf-8")
    final_url = solution.get("url")
    return FetchResult(
        url=url,
        final_url=final_url if isinstance(final_url, str) and final_url else url,
        status=status,
        validators=Validators(
            etag=_str_or_none(headers.get("etag") or headers.get("ETag")),
            last_modified=_str_or_none(
                headers.get("last-modified") or headers.get("Last-Modified")
            ),
            sha256=hashlib.sha256(encoded).hexdigest(),
            size=len(encoded),
        ),
        unchanged=False,
        text=body,
        size=len(encoded),
        content_type="text/html",
    )


# --------------------------------------------------------------------------- one source's poll


@dataclass(slots=True)
class SourceRun:
    """What one poll of one source works with, and what it found.

    Sources fetch and parse; everything they accept or refuse goes through `process` and `reject`
    so that the gate, the store and the report see it the same way for every source.
    """

    source: str
    storage: Storage
    pipeline: Pipeline
    fetcher: HttpFetcher
    now: datetime  # when the poll started, UTC
    stats: PipelineStats = field(default_factory=PipelineStats)
    fetch_failures: list[str] = field(default_factory=list)  # "url: reason", after retries
    unchanged: list[str] = field(default_factory=list)  # URLs with nothing new (304 / same hash)
    fetched: int = 0  # bodies downloaded and handed to a parser

    @property
    def today(self) -> date:
        return self.now.astimezone(UTC).date()

    async def process(
        self, charts: Iterable[Chart], *, expected_period: date | None = None
    ) -> None:
        self.stats.add(await self.pipeline.process(charts, expected_period=expected_period))

    async def reject(self, keys: Iterable[ChartKey], period: date, reason: str) -> None:
        """Store a refused snapshot (no entries) for each key a failed fetch should have given."""
        for key in keys:
            chart = Chart(key=key, period=period, entries=())
            log.info("rejected %s: %s", chart.label(), reason)
            await self.pipeline.reject(chart, reason, self.stats)
        # Flush now: a rejection must be visible in `status` even if a later step crashes.
        await self.process(())

    async def fetch_failed(self, keys: Iterable[ChartKey], period: date, error: FetchError) -> None:
        self.fetch_failures.append(str(error))
        await self.reject(keys, period, f"fetch failed: {error.reason}")


# --------------------------------------------------------------------------- config tables


class SectionReader:
    """Reads one raw `[sources.<name>]` table: typed values, defaults, unknown keys refused."""

    def __init__(self, name: str, table: dict[str, Any]) -> None:
        self.name = name
        self._table = table
        self._read: set[str] = set()

    def _get(self, key: str) -> Any:
        self._read.add(key)
        return self._table.get(key)

    def _fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(f"[{self.name}] {key} must be {expected}")

    def boolean(self, key: str, default: bool) -> bool:
        value = self._get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def string(self, key: str, default: str) -> str:
        value = self.optional_string(key)
        return default if value is None else value

    def optional_string(self, key: str) -> str | None:
        value = self._get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def number(self, key: str, default: float, *, minimum: float = 0.0) -> float:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self._fail(key, f"a number >= {minimum:g}")
        return float(value)

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._fail(key, f"an integer >= {minimum}")
        return value

    def strings(
        self, key: str, default: tuple[str, ...], *, allow_empty: bool = False
    ) -> tuple[str, ...]:
        """A list of strings; a single string is taken as a list of one."""
        value = self._get(key)
        if value is None:
            return default
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self._fail(key, "a list of non-empty strings")
        if not value and not allow_empty:
            raise self._fail(key, "a non-empty list")
        return tuple(value)

    def fetch_settings(self, *, solver: bool) -> FetchSettings:
        """The keys every source shares: timeout, retries, user_agent, proxy (and solver_url
        where a browser-based solver makes sense: HTML pages, not TSV files)."""
        defaults = FetchSettings()
        return FetchSettings(
            timeout=self.number("timeout", defaults.timeout, minimum=0.001),
            retries=self.integer("retries", defaults.retries),
            user_agent=self.string("user_agent", defaults.user_agent),
            proxy=self.optional_string("proxy"),
            solver_url=self.optional_string("solver_url") if solver else None,
            retry_wait=self.number("retry_wait", defaults.retry_wait),
            retry_wait_max=self.number("retry_wait_max", defaults.retry_wait_max),
        )

    def finish(self) -> None:
        """Fail fast on a key nobody read: a typo must not silently keep a default."""
        unknown = sorted(set(self._table) - self._read)
        if unknown:
            known = ", ".join(sorted(self._read))
            raise ConfigError(f"[{self.name}] unknown key {unknown[0]!r}; known keys: {known}")
