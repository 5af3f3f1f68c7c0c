"""Telegram webhook mode: Telegram POSTs each update to a public HTTPS URL, instead of the bot
long-polling getUpdates.

A small aiohttp server (aiohttp is already the bot's HTTP client) in the event loop the other
adapters share receives them and puts them on the PTB Application's update queue, where polled
updates go too, so every handler works the same in both modes. TLS ends in front of it (a reverse
proxy or load balancer forwards the public URL's path to `webhook_listen`), which is also how
several gateway processes can share one bot: Telegram allows one webhook URL per bot and only one
getUpdates caller.

The secret: setWebhook's `secret_token` comes back as the X-Telegram-Bot-Api-Secret-Token header
of every POST Telegram makes; a request without it or with another is answered 403 and never
reaches the Application. The secret is never logged.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ExtBot

from bot.config import ConfigError
from handlers.secrets import redact_in_logs

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SECRET_ENV = "TELEGRAM_WEBHOOK_SECRET"
DEFAULT_LISTEN = "0.0.0.0:8443"
# Telegram's rule for secret_token (1-256 of these characters); we ask for 16 at least, since a
# short secret is guessable and would not be redacted from the logs (handlers/secrets.py).
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,256}")


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    url: str  # the public HTTPS URL given to setWebhook
    host: str  # the address the local server listens on
    port: int  # 0: any free port (tests)
    secret: str = field(repr=False)

    @property
    def path(self) -> str:
        """The local path served: the public URL's (a proxy forwards it unchanged)."""
        return urlsplit(self.url).path or "/"


def _listen_address(listen: Any) -> tuple[str, int]:
    """ "0.0.0.0:8443", "[::]:8443", "127.0.0.1:0" → (host, port)."""
    if not isinstance(listen, str):
        raise ConfigError(f'[telegram] webhook_listen must be "host:port", not {listen!r}')
    host, colon, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    try:
        ipaddress.ip_address(host)
        number = int(port)
    except ValueError:
        number = -1
    if not colon or not 0 <= number <= 65535:
        raise ConfigError(
            f'[telegram] webhook_listen must be "host:port" with an IP address'
            f' (e.g. "0.0.0.0:8443"), not {listen!r}'
        )
    return host, number


def _public_url(url: Any) -> str:
    parts = urlsplit(url) if isinstance(url, str) else None
    if parts is None or parts.scheme != "https" or not parts.hostname or parts.fragment:
        raise ConfigError(
            f"[telegram] webhook_url must be the public https:// URL Telegram posts to, not {url!r}"
        )
    return str(url)


def read_webhook(section: Mapping[str, Any], environ: Mapping[str, str]) -> WebhookSettings | None:
    """[telegram] webhook_url / webhook_listen / webhook_secret (TELEGRAM_WEBHOOK_SECRET wins);
    None without webhook_url: long polling."""
    url = section.get("webhook_url")
    if not url:
        for key in ("webhook_listen", "webhook_secret"):
            if section.get(key):
                raise ConfigError(f"[telegram] {key} needs webhook_url (else: long polling)")
        return None
    public_url = _public_url(url)
    secret = environ.get(SECRET_ENV) or section.get("webhook_secret") or ""
    if not isinstance(secret, str) or not _SECRET_SHAPE.fullmatch(secret.strip()):
        raise ConfigError(
            f"[telegram] webhook mode needs a secret ({SECRET_ENV} or webhook_secret): 16 to 256"
            " characters of A-Z, a-z, 0-9, _ and - (e.g. the output of `openssl rand -hex 32`)"
        )
    host, port = _listen_address(section.get("webhook_listen", DEFAULT_LISTEN))
    return WebhookSettings(url=public_url, host=host, port=port, secret=secret.strip())


class WebhookServer:
    """Receives Telegram's POSTs on `settings.path` and feeds them to the Application."""

    def __init__(
        self, settings: WebhookSettings, application: Application[Any, Any, Any, Any, Any, Any]
    ) -> None:
        redact_in_logs(settings.secret, SECRET_ENV)
        self._settings = settings
        self._application = application
        self._secret = settings.secret.encode()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # the bound port (the configured one, or the free one)

    async def start(self) -> None:
        """Listen (a port in use fails here, before setWebhook sends Telegram anywhere)."""
        app = web.Application()
        app.router.add_post(self._settings.path, self._receive)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._settings.host, self._settings.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("telegram: webhook server on %s:%d", self._settings.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            # Not Telegram (or a stale webhook of another secret): nothing is read or queued.
            log.warning("telegram: webhook POST from %s refused: wrong secret", request.remote)
            return web.Response(status=403)
        try:
            data = json.loads(await request.read())
            if not isinstance(data, dict):
                raise ValueError("an update is a JSON object")
            update = Update.de_json(data, self._application.bot)
        except Exception as exc:  # PTB's parsers raise whatever a malformed field provokes
            # 400: Telegram drops it rather than retrying a body that cannot ever be read.
            log.warning("telegram: webhook update refused: %s: %s", type(exc).__name__, exc)
            return web.Response(status=400)
        bot = self._application.bot
        if isinstance(bot, ExtBot):
            bot.insert_callback_data(update)  # as PTB's own webhook and polling do
        await self._application.update_queue.put(update)
        return web.Response(status=200)


__all__ = ["SECRET_ENV", "SECRET_HEADER", "WebhookServer", "WebhookSettings", "read_webhook"]
