"""Chart sources: pure parsers (text in, `Chart` out) and the errors they raise.

Parsers never do I/O beyond reading a local file they are given; fetching lives beside them.
"""

from bot.sources.errors import SourceError

__all__ = ["SourceError"]
