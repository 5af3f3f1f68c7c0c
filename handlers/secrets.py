"""Bot tokens: read from the environment or the config, and kept out of every log line.

Telegram puts the token in every request URL (…/bot<token>/getUpdates) and httpx logs request
URLs at INFO; an exception text may quote a URL too. Rather than trusting each library's logging,
every log record is redacted as it is created, for every logger and every handler.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

_secrets: dict[str, str] = {}  # secret → its name, shown instead of it
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    for secret, name in _secrets.items():
        if secret in text:
            text = text.replace(secret, f"<{name}>")
    return text


def redact_in_logs(secret: str, name: str) -> None:
    """From now on, `secret` appears in no log record (message, arguments or traceback)."""
    global _installed
    if len(secret) < 8:  # a short "secret" would redact ordinary words; tokens are long
        return
    with _lock:
        _secrets[secret] = name
        if _installed:
            return
        _installed = True
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if not _secrets:
                return record
            try:
                message = record.getMessage()
            except (TypeError, ValueError):  # a malformed call; leave it to logging to report
                return record
            clean = redact(message)
            if clean != message:
                record.msg, record.args = clean, ()
            if record.exc_info and record.exc_info[0] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            return record

        logging.setLogRecordFactory(factory)


def resolve_token(env_name: str, section: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    """The token from the environment, else the config's `token` key; "" when neither is set."""
    token = environ.get(env_name) or section.get("token") or ""
    return token.strip() if isinstance(token, str) else ""
