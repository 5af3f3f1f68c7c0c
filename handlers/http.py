"""The live sources' `HttpClient` (bot/sources/http.py) on aiohttp: one session, retries, solver.

- One `aiohttp.ClientSession` for the whole process (`open_http_client`); each source passes its
  own timeout, User-Agent and proxy per request, so sources never need sessions of their own.
- Retries (tenacity: exponential backoff with jitter) only for 5xx answers and timeouts. A 4xx, a
  refused connection or a bad body is not retried: asking again within seconds changes nothing,
  and the next scheduled poll tries again anyway.
- Bodies are decoded strictly, in the declared charset or else UTF-8 (the big file is checked
  chunk by chunk as it is written): bytes that are not text fail the fetch, never become U+FFFD.
- The validators of the last processed body are sent as If-None-Match / If-Modified-Since (with
  the ETag of a refused body beside it in If-None-Match); what they are and when they are kept is
  the core's business (bot/sources/conditional.py). A 304 hands back the ETag it named.
- FlixPatrol challenges non-browser clients: a FlareSolverr-style solver (`POST {"cmd":
  "request.get", "url": …}` to its `/v1`) or a plain HTTP proxy can be configured.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
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

from bot.sources.http import (
    DEFAULT_TIMEOUT,
    DEFAULT_USER_AGENT,
    FetchError,
    FetchResult,
    FetchSettings,
    Validators,
    is_transient,
    not_modified,
    str_or_none,
)

log = logging.getLogger(__name__)

# A whole download may take this many times the per-read timeout (the 31 MB Netflix file on a slow
# line), but never forever: a server dripping one byte per read timeout would otherwise hang a poll.
TOTAL_TIMEOUT_FACTOR: Final = 10
# Bodies read into memory (everything but the big Netflix file, which goes to disk) stop here.
MAX_TEXT_BYTES: Final = 20 * 1024 * 1024
_CHUNK: Final = 64 * 1024

T = TypeVar("T")


def client_timeout(settings: FetchSettings) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=settings.timeout * TOTAL_TIMEOUT_FACTOR,
        connect=settings.timeout,
        sock_read=settings.timeout,
    )


def create_session() -> aiohttp.ClientSession:
    """The process-wide session. Per-source settings are passed per request."""
    return aiohttp.ClientSession(
        headers={"User-Agent": DEFAULT_USER_AGENT},
        timeout=client_timeout(FetchSettings(timeout=DEFAULT_TIMEOUT)),
        # Netflix's old host redirects to the new one; aiohttp follows up to 10 by default.
        raise_for_status=False,
    )


@asynccontextmanager
async def open_http_client() -> AsyncIterator[AiohttpClient]:
    """A client on a new session, closed on exit (`poll --once`, tests)."""
    async with create_session() as session:
        yield AiohttpClient(session)


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    # Info, not a warning: the poll's report says in one line whether the last attempt failed.
    log.info("fetch attempt %d failed (%s); retrying in %.1fs", state.attempt_number, error, wait)


class AiohttpClient:
    """`HttpClient` on one aiohttp session: each request with the settings of its source."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def close(self) -> None:
        await self._session.close()

    async def fetch_text(self, url: str, settings: FetchSettings, known: Validators) -> FetchResult:
        if settings.solver_url:
            return await _retrying(settings, url, lambda: self._solve(url, settings))
        return await _retrying(settings, url, lambda: self._get_text(url, settings, known))

    async def fetch_to_file(
        self, url: str, path: Path, settings: FetchSettings, known: Validators
    ) -> FetchResult:
        return await _retrying(settings, url, lambda: self._get_file(url, path, settings, known))

    async def _get_text(self, url: str, settings: FetchSettings, known: Validators) -> FetchResult:
        with _as_fetch_errors(url):
            async with self._session.get(url, **_request_kwargs(settings, known)) as response:
                if response.status == 304:
                    return not_modified(url, str(response.url), known, response.headers.get("ETag"))
                _raise_for_status(url, response.status, response.reason)
                chunks: list[bytes] = []
                with _refusing_body(response):
                    sha256, size = await _read_body(response, chunks.append, url, MAX_TEXT_BYTES)
                with _refusing_body(response, sha256):
                    text = decode_strictly(b"".join(chunks), response.charset, url)
                return _fetched(url, response, sha256, size, text=text)

    async def _get_file(
        self, url: str, path: Path, settings: FetchSettings, known: Validators
    ) -> FetchResult:
        with _as_fetch_errors(url):
            async with self._session.get(url, **_request_kwargs(settings, known)) as response:
                if response.status == 304:
                    return not_modified(url, str(response.url), known, response.headers.get("ETag"))
                _raise_for_status(url, response.status, response.reason)
                with path.open("wb") as handle, _refusing_body(response):
                    writer = Utf8Writer(handle.write, response.charset, url)
                    sha256, size = await _read_body(response, writer.write, url)
                    writer.finish()
                return _fetched(url, response, sha256, size, path=path)

    async def _solve(self, url: str, settings: FetchSettings) -> FetchResult:
        """Ask a FlareSolverr-style endpoint to fetch `url` in a real browser."""
        assert settings.solver_url is not None
        command: dict[str, Any] = {
            "cmd": "request.get",
            "url": url,
            "maxTimeout": int(settings.timeout * 1000),
        }
        if settings.proxy:
            command["proxy"] = {"url": settings.proxy}
        try:
            async with self._session.post(
                settings.solver_url,
                json=command,
                headers={"User-Agent": settings.user_agent},
                # The solver itself runs a browser: give it the page timeout plus its own margin.
                timeout=aiohttp.ClientTimeout(
                    total=settings.timeout * TOTAL_TIMEOUT_FACTOR,
                    connect=settings.timeout,
                    sock_read=settings.timeout * 2,
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


async def _retrying(settings: FetchSettings, url: str, attempt: Callable[[], Awaitable[T]]) -> T:
    retrying = AsyncRetrying(
        stop=stop_after_attempt(settings.retries + 1),
        wait=wait_exponential_jitter(
            multiplier=settings.retry_wait,
            max=settings.retry_wait_max,
            jitter=settings.retry_wait,
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
        raise FetchError(f"timed out after {settings.retries + 1} attempts", url=url) from exc
    raise AssertionError("unreachable: tenacity either returns or re-raises")


def _request_kwargs(settings: FetchSettings, known: Validators) -> dict[str, Any]:
    headers = {"User-Agent": settings.user_agent, **known.request_headers()}
    kwargs: dict[str, Any] = {"headers": headers, "timeout": client_timeout(settings)}
    if settings.proxy:
        kwargs["proxy"] = settings.proxy
    return kwargs


@contextmanager
def _as_fetch_errors(url: str) -> Iterator[None]:
    """A failed GET as the poll sees it: a timeout stays one (retried), the rest FetchError."""
    try:
        yield
    except aiohttp.ClientPayloadError as exc:
        raise FetchError(f"body cut short ({exc})", url=url) from exc
    except aiohttp.ClientError as exc:
        if isinstance(exc, TimeoutError):
            raise
        raise FetchError(connection_problem(exc), url=url) from exc


def connection_problem(exc: aiohttp.ClientError) -> str:
    """A failed connection in a few words: what an operator reads in a one-line report."""
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"host {exc.host} not found"
    if isinstance(exc, aiohttp.ClientConnectorError) and not isinstance(
        exc, aiohttp.ClientSSLError
    ):
        if isinstance(exc.os_error, ConnectionRefusedError):
            return "connection refused"
        return f"connection failed ({exc.os_error.strerror or type(exc.os_error).__name__})"
    return f"connection failed ({type(exc).__name__}: {exc})"


@contextmanager
def _refusing_body(response: aiohttp.ClientResponse, sha256: str | None = None) -> Iterator[None]:
    """A body refused while read (not text, too large) names itself by its validators; its SHA-256
    only when it was read whole (a streamed body stops at its first bad byte)."""
    try:
        yield
    except FetchError as exc:
        exc.refused_body = Validators(
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            sha256=sha256,
        )
        raise


def _decoder(charset: str | None, url: str) -> codecs.IncrementalDecoder:
    """A strict decoder for the declared charset (UTF-8 when none is declared)."""
    name = charset or "utf-8"
    try:
        decoder_class = codecs.getincrementaldecoder(name)
    except LookupError:
        raise FetchError(f"unknown charset {name!r} declared", url=url) from None
    return decoder_class(errors="strict")


def _not_text(charset: str | None, error: UnicodeDecodeError, offset: int, url: str) -> FetchError:
    declared = f"declared {charset}" if charset else "no charset declared, read as UTF-8"
    byte = error.object[error.start : error.start + 1]
    return FetchError(
        f"body is not valid {charset or 'UTF-8'} text ({declared}; byte {byte!r}"
        f" at offset {offset + error.start})",
        url=url,
    )


def decode_strictly(body: bytes, charset: str | None, url: str) -> str:
    """The body as text in its declared charset, else UTF-8, never with U+FFFD for bad bytes: a
    body that does not decode is a failed fetch (a Latin-1 "José" read as UTF-8 with
    replacement characters once became an alert for "Jos\ufffd Totoy 3")."""
    decoder = _decoder(charset, url)
    try:
        return decoder.decode(body, final=True)
    except UnicodeDecodeError as exc:
        raise _not_text(charset, exc, 0, url) from None


class Utf8Writer:
    """Writes a streamed body to disk as UTF-8, checking every byte on the way: a body in
    another declared charset is re-encoded, one that does not decode is a failed fetch."""

    def __init__(self, write: Callable[[bytes], object], charset: str | None, url: str) -> None:
        self._write = write
        self._url = url
        self._charset = charset
        self._decoder = _decoder(charset, url)
        self._offset = 0
        normalized = codecs.lookup(charset or "utf-8").name
        self._passthrough = normalized == "utf-8"

    def write(self, chunk: bytes) -> None:
        self._decode(chunk, final=False)
        self._offset += len(chunk)

    def finish(self) -> None:
        self._decode(b"", final=True)

    def _decode(self, chunk: bytes, *, final: bool) -> None:
        try:
            text = self._decoder.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            raise _not_text(self._charset, exc, self._offset, self._url) from None
        self._write(chunk if self._passthrough else text.encode("utf-8"))


def _raise_for_status(url: str, status: int, reason: str | None) -> None:
    if status >= 400:
        raise FetchError(f"HTTP {status} {reason or ''}".strip(), url=url, status=status)


async def _read_body(
    response: aiohttp.ClientResponse,
    write: Callable[[bytes], object],
    url: str,
    limit: int | None = None,
) -> tuple[str, int]:
    """Hand the body to `write` chunk by chunk; its SHA-256 and size in bytes."""
    digest = hashlib.sha256()
    size = 0
    async for chunk in response.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if limit is not None and size > limit:
            raise FetchError(f"body larger than {limit} bytes", url=url)
        digest.update(chunk)
        write(chunk)
    return digest.hexdigest(), size


def _fetched(
    url: str,
    response: aiohttp.ClientResponse,
    sha256: str,
    size: int,
    *,
    text: str | None = None,
    path: Path | None = None,
) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=str(response.url),
        status=response.status,
        validators=Validators(
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            sha256=sha256,
            size=size,
        ),
        unchanged=False,
        text=text,
        path=path,
        size=size,
        content_type=response.content_type,
    )


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
            etag=str_or_none(headers.get("etag") or headers.get("ETag")),
            last_modified=str_or_none(headers.get("last-modified") or headers.get("Last-Modified")),
            sha256=hashlib.sha256(encoded).hexdigest(),
            size=len(encoded),
        ),
        unchanged=False,
        text=body,
        size=len(encoded),
        content_type="text/html",
    )
