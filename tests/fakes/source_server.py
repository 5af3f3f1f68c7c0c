"""A local stand-in for netflix.com and flixpatrol.com: real files, and every way they break.

One aiohttp server on 127.0.0.1 that
- serves files put at URL paths with ETag / Last-Modified and answers conditional GETs with 304
  (like Netflix's CDN; If-None-Match may list several ETags), or without validators
  (`validators=False`) for the content-hash skip;
- answers unknown `/top10/…` paths with HTTP 200 "Page Not Found", as FlixPatrol does;
- plays scripted replies first (`script`): 5xx, slow answers (timeouts), bodies cut short,
  redirects, `null`, HTML instead of TSV, challenge pages — then falls back to the files;
- is a FlareSolverr-style solver at `/v1` (`POST {"cmd": "request.get", "url": …}`) and an HTTP
  proxy (absolute-form requests for any host), both answering from the same files and scripts;
- records every request (`hits`) so tests can check order, headers, counts and body bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import urlparse

from aiohttp import web

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NETFLIX_PREFIX = "/tudum/top10/data/"


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/plain"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: longer than the client timeout = a timeout
    cut_after: int | None = None  # send this many bytes while announcing the whole body
    location: str | None = None  # a redirect target (with a 3xx status)
    gate: asyncio.Event | None = None  # answer only once the test sets it (a poll held in flight)

    def body_bytes(self) -> bytes:
        return self.body.encode("utf-8") if isinstance(self.body, str) else self.body


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    headers: Mapping[str, str]
    status: int
    via: str  # "direct", "proxy" or "solver"
    body_size: int = 0  # bytes of body the reply carries (all of it, even when cut short)
    at: float = field(default_factory=time.monotonic)  # when the request arrived


@dataclass
class _File:
    body: bytes
    content_type: str
    validators: bool
    last_modified: datetime

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'


class SourceServer:
    def __init__(self) -> None:
        self._files: dict[str, _File] = {}
        self._scripts: dict[str, deque[Reply]] = {}
        self.hits: list[Hit] = []
        self.in_flight = 0  # direct requests being answered now
        self.max_in_flight = 0
        self._hit = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._versions = 0
        self.flixpatrol_not_found = (FIXTURES / "flixpatrol" / "page-not-found.html").read_bytes()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> SourceServer:
        app = web.Application()
        app.router.add_post("/v1", self._solver)
        app.router.add_route("*", "/{tail:.*}", self._direct)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SourceServer:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/"

    @property
    def netflix_base(self) -> str:
        return self.base_url.rstrip("/") + NETFLIX_PREFIX

    @property
    def solver_url(self) -> str:
        return self.base_url + "v1"

    @property
    def proxy_url(self) -> str:
        return self.base_url.rstrip("/")

    # -- content -----------------------------------------------------------------------------

    def put(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = "text/tab-separated-values",
        validators: bool = True,
    ) -> None:
        """Serve `body` at `path` from now on (a new version: new ETag and Last-Modified)."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self._versions += 1
        modified = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=self._versions)
        self._files[path] = _File(data, content_type, validators, modified)

    def put_netflix(self, name: str, body: bytes | str, *, validators: bool = True) -> None:
        self.put(NETFLIX_PREFIX + name, body, validators=validators)

    def remove(self, path: str) -> None:
        self._files.pop(path, None)

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests of `path` with these replies, in order, then normally."""
        self._scripts.setdefault(path, deque()).extend(replies)

    def paths(self, prefix: str = "", *, via: str | None = None) -> list[str]:
        return [
            hit.path
            for hit in self.hits
            if hit.path.startswith(prefix) and (via is None or hit.via == via)
        ]

    def count(self, path: str) -> int:
        return sum(1 for hit in self.hits if hit.path == path)

    def etag(self, path: str) -> str:
        """The ETag of what `path` serves now."""
        return self._files[path].etag

    def bytes_sent(self, path: str) -> int:
        """Body bytes served at `path` so far (a 304 sends none)."""
        return sum(hit.body_size for hit in self.hits if hit.path == path)

    async def wait_for(self, path: str, count: int = 1) -> None:
        """Until `path` has been requested `count` times (pytest-timeout ends a test stuck here)."""
        async with self._hit:
            await self._hit.wait_for(lambda: self.count(path) >= count)

    async def _record(self, hit: Hit) -> None:
        async with self._hit:
            self.hits.append(hit)
            self._hit.notify_all()

    # -- answering ---------------------------------------------------------------------------

    def _next_reply(self, path: str, headers: Mapping[str, str]) -> Reply:
        queued = self._scripts.get(path)
        if queued:
            return queued.popleft()
        stored = self._files.get(path)
        if stored is None:
            if path.startswith("/top10/"):
                # FlixPatrol answers a page it does not have with HTTP 200 and an error page.
                return Reply(200, self.flixpatrol_not_found, "text/html")
            return Reply(404, "Not Found")
        if not stored.validators:
            return Reply(200, stored.body, stored.content_type)
        validator_headers = {
            "ETag": stored.etag,
            "Last-Modified": format_datetime(stored.last_modified, usegmt=True),
        }
        if_none_match = headers.get("If-None-Match")
        if_modified_since = headers.get("If-Modified-Since")
        if if_none_match is not None:
            if stored.etag in (etag.strip() for etag in if_none_match.split(",")):
                return Reply(304, b"", stored.content_type, validator_headers)
        elif if_modified_since == validator_headers["Last-Modified"]:
            return Reply(304, b"", stored.content_type, validator_headers)
        return Reply(200, stored.body, stored.content_type, validator_headers)

    async def _direct(self, request: web.Request) -> web.StreamResponse:
        via = "direct" if request.host == f"127.0.0.1:{self._port}" else "proxy"
        reply = self._next_reply(request.path, request.headers)
        hit = Hit(
            request.method,
            request.path,
            dict(request.headers),
            reply.status,
            via,
            len(reply.body_bytes()),
        )
        await self._record(hit)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if reply.gate is not None:
                await reply.gate.wait()
            if reply.delay:
                await asyncio.sleep(reply.delay)
        finally:
            self.in_flight -= 1
        body = reply.body_bytes()
        headers = dict(reply.headers)
        if reply.location is not None:
            headers["Location"] = reply.location
        if reply.cut_after is not None:
            response = web.StreamResponse(status=reply.status, headers=headers)
            response.content_type = reply.content_type
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[: reply.cut_after])
            assert request.transport is not None
            request.transport.close()
            return response
        # "text/plain; charset=cp1252": aiohttp takes the charset as a parameter of its own.
        content_type, _, charset = reply.content_type.partition("; charset=")
        return web.Response(
            status=reply.status,
            body=body,
            headers=headers,
            content_type=content_type,
            charset=charset or None,
        )

    async def _solver(self, request: web.Request) -> web.Response:
        command = await request.json()
        url = str(command.get("url", ""))
        path = urlparse(url).path
        reply = self._next_reply(path, {})
        await self._record(Hit("GET", path, dict(request.headers), reply.status, "solver"))
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if command.get("cmd") != "request.get":
            return web.json_response({"status": "error", "message": "unknown cmd"}, status=500)
        return web.json_response(
            {
                "status": "ok",
                "message": "Challenge not detected!",
                "solution": {
                    "url": reply.location or url,
                    "status": reply.status,
                    "headers": dict(reply.headers),
                    "response": reply.body_bytes().decode("utf-8", errors="replace"),
                    "cookies": [],
                    "userAgent": "Mozilla/5.0 (fake solver)",
                },
            }
        )


# --------------------------------------------------------------------------- FlixPatrol pages

# (title slug, display title, days in the Top 10 — or points on a world page)
PageRow = tuple[str, str, int]

_ROW_CELL = (
    '<td class="table-td w-12 font-semibold text-right text-gray-500 table-hover:text-gray-400">'
)
_BADGE = (
    '<td class="table-td w-10"><div class="inline-flex align-bottom w-6 h-6 rounded-full'
    ' text-gray-100 {cls} text-2xs justify-center items-center">{text}</div></td>'
)


def _day_text(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def _badge(rank: int, previous: Mapping[str, int], slug: str) -> str:
    before = previous.get(slug)
    if before is None:
        return _BADGE.format(cls="bg-info", text="n/a")
    if before == rank:
        return _BADGE.format(cls="bg-warning", text="–")
    if before > rank:
        return _BADGE.format(cls="bg-success", text=f"+{before - rank}")
    return _BADGE.format(cls="bg-danger", text=f"-{rank - before}")


def flixpatrol_page(
    *,
    service: str,
    country: str,
    day: date,
    lists: Mapping[str, Sequence[PageRow]],
    world: bool = False,
    previous: Mapping[str, Mapping[str, int]] | None = None,
) -> str:
    """A single-service FlixPatrol page built to the real markup (tests/fixtures/flixpatrol/).

    `lists` maps a list heading ("Movies", "TV Shows", "Kids Movies" …) to its rows, rank order.
    `previous` (list → slug → yesterday's rank) sets the change badges of country pages.
    """
    title = f"TOP 10 on {service} in {country} on {_day_text(day)} • FlixPatrol"
    parts = [f"<!DOCTYPE html><html><head><title>{html.escape(title)}</title></head><body>"]
    if world:
        parts.append(
            '<h2 class="mb-4 flex gap-4 items-center text-h2"><span>'
            f"{html.escape(service)} TOP 10 in {html.escape(country)} on {_day_text(day)}"
            "</span></h2>"
        )
    parts.append('<div class="grid md:grid-cols-2 gap-x-8 gap-y-12">')
    for name, rows in lists.items():
        before = (previous or {}).get(name, {})
        first_slug, first_title, _ = rows[0] if rows else ("none", "none", 0)
        parts.append(
            '<div><div class="grid grid-cols-1 md:grid-cols-4 gap-2 gap-x-4">'
            f'<div><a href="/title/{first_slug}/" class="block max-w-36 mx-auto">'
            f'<img alt="{html.escape(first_title)}" src="/runtime/cache/files/posters/p.jpg">'
            '</a></div><div class="md:col-span-3"><div class="card -mx-content">'
            '<div class="px-4 py-2 bg-gray-900 text-center">'
            f'<h3 class="font-semibold text-sm text-gray-100">TOP 10 {html.escape(name)}</h3>'
            '</div><table class="card-table"><tbody class="tabular-nums">'
        )
        for rank, (slug, shown, number) in enumerate(rows, start=1):
            link = (
                f'<td class="table-td"><a href="/title/{slug}/" class="hover:underline">'
                f"{html.escape(shown)}</a></td>"
            )
            if world:
                cells = (
                    f"{_ROW_CELL}{rank}.</td>{link}"
                    f'<td class="table-td w-12 font-semibold text-right">{number}</td>'
                )
            else:
                cells = (
                    f"{_ROW_CELL}{rank}.</td>{_badge(rank, before, slug)}{link}"
                    f'<td class="table-td text-right text-sm text-gray-500">{number}&nbsp;d</td>'
                )
            parts.append(f'<tr class="table-group">{cells}</tr>\n')
        parts.append("</tbody></table></div></div></div></div>")
    parts.append("</div></body></html>")
    return "".join(parts)


def flixpatrol_path(service: str, country_slug: str, day: date) -> str:
    return f"/top10/{service}/{country_slug}/{day.isoformat()}/"


# --------------------------------------------------------------------------- config files

ConfigValue = str | int | float | bool | Sequence[str]


def _toml_value(value: ConfigValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "[" + ", ".join(_toml_value(item) for item in value) + "]"


def config_toml(tables: Mapping[str, Mapping[str, ConfigValue]]) -> str:
    """A TOML config file from {"sources.netflix": {"base_url": …}, …}."""
    lines: list[str] = []
    for name, values in tables.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)


# Fast retries for tests: the backoff is real, so keep it to milliseconds.
FAST_FETCH: dict[str, ConfigValue] = {
    "timeout": 2.0,
    "retries": 2,
    "retry_wait": 0.01,
    "retry_wait_max": 0.02,
}
