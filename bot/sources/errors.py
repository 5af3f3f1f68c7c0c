"""Errors a source raises when a whole body or file cannot be used at all."""

from __future__ import annotations

import re

# How much of a body is looked at: enough for any error page's opening, cheap on a 31 MB file.
_SNIFF_CHARS = 65_536
_LEADING_BLANKS = re.compile(r"[\ufeff\s]*")


def body_problem(text: str, *, expected: str = "a chart file") -> str | None:
    """Why a body that should be a chart file is an error page instead, or None if it may be one.

    An empty body, the 4 bytes `null` (Netflix, 2023-12-27) and an HTML page (a redirect notice,
    "Page Not Found", a challenge page) are failed fetches, never charts. Only the start of the
    text is examined, so a fetcher can call it on a large body before parsing.
    """
    match = _LEADING_BLANKS.match(text)
    start = match.end() if match else 0
    if start == len(text):
        return "empty body"
    head = text[start : start + _SNIFF_CHARS]
    lowered = head[:1000].lower()
    if head.startswith("<") or "<html" in lowered or "<!doctype" in lowered:
        return f"HTML page instead of {expected}"
    if len(text) - start < _SNIFF_CHARS and head.rstrip() == "null":
        return "body is `null`"
    return None


class SourceError(Exception):
    """A whole body/file is unusable (HTML page, `null`, wrong header, empty).

    A single bad row never raises this: the parser marks the chart holding it with
    `Chart.parse_error` and goes on, so one defect costs one chart, not the whole fetch.
    """

    def __init__(self, reason: str, *, source: str = "", what: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.source = source  # "netflix", "flixpatrol" ...
        self.what = what  # the file name or URL that was being read

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.source, self.what) if part)
        return f"{where}: {self.reason}" if where else self.reason

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments are lost by Exception's default pickling; keep them so an
        # error crossing a process boundary still says which source and file it was about.
        return (_rebuild_source_error, (self.reason, self.source, self.what))


def _rebuild_source_error(reason: str, source: str, what: str) -> SourceError:
    return SourceError(reason, source=source, what=what)
