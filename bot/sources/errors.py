"""Errors a source raises when a whole body or file cannot be used at all."""

from __future__ import annotations


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
