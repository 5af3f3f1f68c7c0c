"""What [telegram], TELEGRAM_TOKEN and TELEGRAM_WEBHOOK_SECRET say, checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import ConfigError
from handlers.secrets import resolve_token
from handlers.telegram.webhook import WebhookSettings, read_webhook


@dataclass(frozen=True, slots=True)
class TelegramSettings:
    token: str
    base_url: str | None = None  # a self-hosted Bot API server: "http://host:8081/bot"
    base_file_url: str | None = None
    rate_limiter: bool = True  # PTB's AIORateLimiter: ~30 messages/s overall, 20/min per group
    # Flood-control answers (429) PTB waits out and retries before giving up: Telegram allows
    # about one message a second per chat, and two quick commands in one chat cross that.
    flood_retries: int = 1
    poll_timeout: float = 10.0  # long-poll seconds of getUpdates
    read_timeout: float = 5.0  # seconds to wait for the answer to any other request
    webhook: WebhookSettings | None = None  # None: long polling


def telegram_settings(
    section: Mapping[str, Any], environ: Mapping[str, str]
) -> TelegramSettings | None:
    """[telegram] config plus TELEGRAM_TOKEN (the environment wins); None without a token."""
    webhook = read_webhook(section, environ)  # checked even without a token
    token = resolve_token("TELEGRAM_TOKEN", section, environ)
    if not token:
        return None
    base_url = section.get("base_url")
    base_file_url = section.get("base_file_url")
    try:
        return TelegramSettings(
            token=token,
            base_url=str(base_url) if base_url else None,
            base_file_url=str(base_file_url) if base_file_url else None,
            rate_limiter=bool(section.get("rate_limiter", True)),
            flood_retries=int(section.get("flood_retries", 1)),
            poll_timeout=float(section.get("poll_timeout", 10.0)),
            read_timeout=float(section.get("read_timeout", 5.0)),
            webhook=webhook,
        )
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            "[telegram] flood_retries, poll_timeout and read_timeout must be numbers"
        ) from exc


__all__ = ["TelegramSettings", "telegram_settings"]
