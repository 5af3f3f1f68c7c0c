"""Chart sources: pure parsers (text in, `Chart` out) and the errors they raise.

Parsers never do I/O beyond reading a local file they are given. The live sources beside them
(`netflix_fetch`, `flixpatrol_fetch`) fetch through the `HttpClient` port (`http.py`, implemented
in handlers/http.py) and yield what they found to the poller (`feed.py`).
"""

from bot.sources.errors import SourceError

__all__ = ["SourceError"]
