"""A fake Telegram Bot API server on 127.0.0.1 that the real python-telegram-bot talks to.

Point PTB at it with ``ApplicationBuilder().token(fake.token).base_url(fake.base_url)
.base_file_url(fake.base_file_url)``. See tests/fakes/README.md for the API.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import math
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from html import unescape
from typing import Any, Literal, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from telegram.ext import Application

from ._common import SlidingWindow, StateChanges, ceil_ms

JsonDict = dict[str, Any]
AnyApplication = Application[Any, Any, Any, Any, Any, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64

# Form values PTB sends JSON-encoded (everything non-string is json.dumps'ed by PTB; strings are
# sent raw, so only these names may be decoded without corrupting a text that looks like JSON).
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
        "media",
    }
)
_INT_FIELDS = frozenset(
    {
        "message_id",
        "message_thread_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "reply_to_message_id",
        "cache_time",
        "from_chat_id",
    }
)
_TEXT_FIELDS = frozenset(
    {"text", "caption", "data", "description", "callback_query_id", "title", "url", "secret_token"}
)
# setWebhook's rules (https://core.telegram.org/bots/api#setwebhook).
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

# Tags Telegram accepts with parse_mode=HTML (https://core.telegram.org/bots/api#html-style).
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^>]*)>")
_HTML_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")
_BOT_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,})?")

_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_pin_messages": True,
    "can_manage_topics": True,
}


@dataclass
class Webhook:
    """What setWebhook registered."""

    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int


@dataclass
class TelegramSent:
    """One message the bot delivered (sendMessage / sendPhoto)."""

    method: str
    message_id: int
    chat_id: int
    text: str | None
    """The text (or photo caption) exactly as the bot sent it, markup included."""
    plain_text: str | None
    """The text as a user sees it: HTML tags removed and entities decoded."""
    thread_id: int | None
    parse_mode: str | None
    reply_markup: JsonDict | None
    reply_to_message_id: int | None
    timestamp: float
    photo: str | None = None
    """file_id/URL the bot passed, or the uploaded file's name."""
    ambiguous: bool = False
    """Delivered, but the response was held back by `delay_next` (the sender may time out)."""
    params: JsonDict = field(default_factory=dict)


@dataclass
class TelegramEdit:
    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    reply_markup: JsonDict | None
    timestamp: float
    ambiguous: bool = False


@dataclass
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool
    timestamp: float


@dataclass
class ApiRequest:
    """Every request the fake received, in order, with the HTTP status it answered."""

    method: str
    params: JsonDict
    status: int
    timestamp: float


@dataclass
class _Chat:
    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    is_forum: bool = False
    blocked: bool = False
    migrated_to: int | None = None
    owner_id: int | None = None
    admin_ids: list[int] = field(default_factory=list)
    next_message_id: int = 1
    messages: dict[int, JsonDict] = field(default_factory=dict)

    def as_json(self) -> JsonDict:
        data: JsonDict = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or f"User {self.id}"
        else:
            data["title"] = self.title or f"Chat {self.id}"
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


class TelegramApiError(Exception):
    """Raised inside a method handler; becomes an ``{"ok": false, ...}`` response."""

    def __init__(self, status: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters is not None:
            body["parameters"] = self.parameters
        return body


@dataclass
class _Call:
    method: str
    params: JsonDict
    files: dict[str, web.FileField]
    ambiguous: bool


_Handler = Callable[[_Call], Awaitable[Any]]


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _parse_html(text: str) -> str:
    """Return the visible text of a parse_mode=HTML message, failing like Telegram does."""
    plain: list[str] = []
    open_tags: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        offset = len(text[:position].encode())
        if char == "<":
            tag = _HTML_TAG.match(text, position)
            if tag is None:
                raise TelegramApiError(
                    400,
                    "Bad Request: can't parse entities: Unexpected end of name token at byte "
                    f"offset {offset}",
                )
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if name not in _HTML_TAGS:
                kind = "end" if closing else "start"
                raise TelegramApiError(
                    400,
                    f'Bad Request: can\'t parse entities: Unsupported {kind} tag "{name}" at byte '
                    f"offset {offset}",
                )
            if closing:
                if not open_tags or open_tags[-1] != name:
                    raise TelegramApiError(
                        400,
                        f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                        f'{offset}, expected "</{open_tags[-1] if open_tags else ""}>", found '
                        f'"</{name}>"',
                    )
                open_tags.pop()
            else:
                open_tags.append(name)
            position = tag.end()
        elif char == "&":
            entity = _HTML_ENTITY.match(text, position)
            if entity is None:
                raise TelegramApiError(
                    400,
                    "Bad Request: can't parse entities: Can't find end of the entity starting at "
                    f"byte offset {offset}",
                )
            plain.append(unescape(entity.group(0)))
            position = entity.end()
        elif char == ">":
            # Telegram tolerates a bare ">" in text.
            plain.append(char)
            position += 1
        else:
            plain.append(char)
            position += 1
    if open_tags:
        raise TelegramApiError(
            400,
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f'"{open_tags[-1]}"',
        )
    return "".join(plain)


def _coerce_form_value(name: str, value: str) -> Any:
    if name in _JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            raise TelegramApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    if name in _TEXT_FIELDS:
        return value
    if name == "chat_id" or name in _INT_FIELDS:
        try:
            return int(value)
        except ValueError:
            return value
    if value in ("true", "false"):
        return value == "true"
    return value


def _user_json(user: int | Mapping[str, Any]) -> JsonDict:
    if isinstance(user, int):
        return {"id": user, "is_bot": False, "first_name": f"User{user}", "username": f"user{user}"}
    data = dict(user)
    data.setdefault("is_bot", False)
    data.setdefault("first_name", f"User{data['id']}")
    return data


def _default_chat_type(chat_id: int) -> ChatType:
    if chat_id > 0:
        return "private"
    if chat_id <= -1_000_000_000_000:
        return "supergroup"
    return "group"


class FakeTelegram:
    """Fake Bot API server. Create, ``await start()``, point PTB at ``base_url``, ``await stop()``.

    Flood-control ceilings are counts per window; ``time_scale`` multiplies every window so tests
    can use the real counts with short windows (``time_scale=0.1`` makes "per minute" 6 s).
    Any ceiling can be ``None`` (not enforced) and can be changed while the server runs.
    """

    DEFAULT_TOKEN = "123456789:FAKE-telegram-token"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "top10_test_bot",
        bot_first_name: str = "Top10 Test Bot",
        overall_per_s: int | None = 30,
        per_chat_per_s: int | None = 1,
        per_group_per_min: int | None = 20,
        time_scale: float = 1.0,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JsonDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.overall_per_s = overall_per_s
        self.per_chat_per_s = per_chat_per_s
        self.per_group_per_min = per_group_per_min
        self.time_scale = time_scale

        self.sent: list[TelegramSent] = []
        self.edits: list[TelegramEdit] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.requests: list[ApiRequest] = []
        self.calls: Counter[str] = Counter()
        self.rate_limited = 0
        self.commands: dict[tuple[str, str], list[JsonDict]] = {}
        """setMyCommands state: (scope as JSON text, language_code) -> commands."""
        self.webhook: Webhook | None = None
        """setWebhook state (None: no webhook, getUpdates works)."""

        self._chats: dict[int, _Chat] = {}
        self._updates: list[JsonDict] = []
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._open_callback_queries: set[str] = set()
        self._files: dict[str, tuple[str, bytes]] = {}
        self._failures: dict[str, list[tuple[int, str]]] = {}
        self._delays: dict[str, list[float]] = {}
        self._windows: dict[tuple[str, int], SlidingWindow] = {}
        self._changes = StateChanges()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._methods: dict[str, tuple[str, _Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._no_op,
                "close": self._no_op,
                "deleteWebhook": self._delete_webhook,
                "setWebhook": self._set_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "getUpdates": self._get_updates,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "sendPhoto": self._send_photo,
                "editMessageText": self._edit_message_text,
                "answerCallbackQuery": self._answer_callback_query,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
                "getChatAdministrators": self._get_chat_administrators,
                "getFile": self._get_file,
            }.items()
        }

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Wake every long poll and held-back response, then close the server."""
        self._stopping.set()
        self._changes.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``: PTB appends the token and method."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    # ----------------------------------------------------------------- test controls

    def add_chat(
        self,
        chat_id: int,
        chat_type: ChatType | None = None,
        *,
        title: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
    ) -> None:
        """Declare a chat. Unknown chats are created on first use with a type guessed from the
        id (positive: private, -100…: supergroup, other negative: group)."""
        chat = self._chat(chat_id, chat_type)
        if chat_type is not None:
            chat.type = chat_type
        chat.title = title or chat.title
        chat.username = username or chat.username
        chat.is_forum = is_forum or chat.is_forum

    def inject_update(self, update: Mapping[str, Any]) -> JsonDict:
        """Queue a raw Update (``update_id`` is assigned) for the next getUpdates."""
        queued = {"update_id": next(self._update_ids), **update}
        self._updates.append(queued)
        self._changes.notify()
        return queued

    def inject_message(
        self,
        chat_id: int,
        text: str,
        from_user: int | Mapping[str, Any],
        chat_type: ChatType | None = None,
        thread_id: int | None = None,
        *,
        title: str | None = None,
    ) -> JsonDict:
        """Queue a user's text message and return the Update; a leading ``/command`` gets its
        bot_command entity.

        ``from_user`` is a user id or a User dict. ``chat_type`` defaults to the chat's known
        type, else a guess from the id (positive: private, -100…: supergroup, other negative:
        group); for a private chat ``chat_id`` should equal the user id. A ``thread_id`` makes
        it a topic message of a forum supergroup.
        """
        user = _user_json(from_user)
        chat = self._chat(chat_id, chat_type)
        if chat_type is not None:
            chat.type = chat_type
        if chat.type == "private":
            chat.first_name = user["first_name"]
            chat.username = user.get("username")
        elif title is not None:
            chat.title = title
        if thread_id is not None:
            chat.is_forum = True
        message: JsonDict = {
            "message_id": chat.take_message_id(),
            "date": int(time.time()),
            "chat": chat.as_json(),
            "from": user,
            "text": text,
        }
        command = _BOT_COMMAND.match(text)
        if command is not None:
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": _utf16_len(command.group(0))}
            ]
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        chat.messages[message["message_id"]] = message
        return self.inject_update({"message": message})

    async def post_update(self, address: str, update: JsonDict, *, secret: str | None) -> int:
        """POST a queued Update to the bot's webhook server as Telegram does (JSON body,
        ``secret`` in the X-Telegram-Bot-Api-Secret-Token header, none if None) and return the
        HTTP status; a 2xx delivers it (no longer pending), anything else leaves it pending, as
        Telegram retries it. ``address`` is the local URL the public webhook URL leads to
        (through the proxy that ends TLS). Only while a webhook is set: Telegram posts nothing
        otherwise."""
        if self.webhook is None:
            raise RuntimeError("no webhook is set (setWebhook): Telegram would not POST updates")
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(address, json=update, headers=headers) as response,
        ):
            status = response.status
        if 200 <= status < 300:
            self._updates = [u for u in self._updates if u["update_id"] != update["update_id"]]
            self._changes.notify()
        return status

    def inject_callback_query(
        self,
        chat_id: int,
        message_id: int,
        data: str,
        from_user: int | Mapping[str, Any],
    ) -> JsonDict:
        """Queue a press on an inline button of a message the bot sent (``message_id``)."""
        chat = self._chats.get(chat_id)
        if chat is None or message_id not in chat.messages:
            raise KeyError(f"no message {message_id} in chat {chat_id} to attach the button to")
        query_id = str(next(self._callback_ids))
        self._open_callback_queries.add(query_id)
        return self.inject_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": _user_json(from_user),
                    "message": chat.messages[message_id],
                    "chat_instance": str(chat_id),
                    "data": data,
                }
            }
        )

    def set_admins(self, chat_id: int, user_ids: list[int], *, owner_id: int | None = None) -> None:
        """getChatAdministrators / getChatMember report these users as administrators
        (``owner_id``, if given, as the creator); everybody else is a plain member."""
        chat = self._chat(chat_id, None)
        chat.admin_ids = list(user_ids)
        chat.owner_id = owner_id

    def block_chat(self, chat_id: int) -> None:
        """Sending to this chat now answers 403 (blocked by the user / kicked from the group)."""
        self._chat(chat_id, None).blocked = True

    def unblock_chat(self, chat_id: int) -> None:
        self._chat(chat_id, None).blocked = False

    def migrate_chat(self, old_id: int, new_id: int) -> None:
        """The group became a supergroup: requests to ``old_id`` answer 400 with
        ``parameters.migrate_to_chat_id``; ``new_id`` is a working supergroup."""
        old = self._chat(old_id, None)
        old.migrated_to = new_id
        new = self._chat(new_id, "supergroup")
        new.title = old.title

    def delete_message(self, chat_id: int, message_id: int) -> None:
        """Someone in the chat deleted the message: editing it now answers 400 "message to
        edit not found", as Telegram does."""
        chat = self._chats.get(chat_id)
        if chat is None or chat.messages.pop(message_id, None) is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        self._changes.notify()

    def fail_next(
        self, method: str, status: int = 500, n: int = 1, description: str | None = None
    ) -> None:
        """The next ``n`` calls of ``method`` answer ``status`` without doing anything."""
        text = description or {500: "Internal Server Error", 502: "Bad Gateway"}.get(
            status, f"Error {status}"
        )
        self._failures.setdefault(method.lower(), []).extend([(status, text)] * n)

    def delay_next(self, method: str, seconds: float, n: int = 1) -> None:
        """The next ``n`` calls of ``method`` are carried out at once (a message is stored, marked
        ``ambiguous``) but answered only after ``seconds``: a client timeout then leaves the
        sender unsure whether it was delivered."""
        self._delays.setdefault(method.lower(), []).extend([seconds] * n)

    def file_content(self, file_id: str) -> bytes:
        """The bytes of an uploaded file (a photo), by the file_id the fake gave it."""
        return self._files[file_id][1]

    def forget_file(self, file_id: str) -> None:
        """Telegram no longer knows this file_id: sending it answers "wrong file identifier"."""
        del self._files[file_id]

    async def wait_until(
        self, predicate: Callable[[], bool], max_wait_s: float = 5.0, description: str = "condition"
    ) -> None:
        await self._changes.wait_until(predicate, max_wait_s, description)

    async def wait_for_sent(self, count: int, max_wait_s: float = 5.0) -> list[TelegramSent]:
        """Wait until at least ``count`` messages were delivered; returns ``sent``."""
        await self.wait_until(lambda: len(self.sent) >= count, max_wait_s, f"{count} sent messages")
        return self.sent

    @property
    def pending_updates(self) -> int:
        """Injected updates the bot has not confirmed yet (via getUpdates offset)."""
        return len(self._updates)

    def chat_messages(self, chat_id: int) -> list[JsonDict]:
        """Every message in a chat (injected and sent), as Message JSON, in order."""
        chat = self._chats.get(chat_id)
        return [] if chat is None else list(chat.messages.values())

    # ----------------------------------------------------------------- HTTP plumbing

    async def _handle_api(self, request: web.Request) -> web.Response:
        sent_method = request.match_info["method"]
        method, handler = self._methods.get(sent_method.lower(), (sent_method, None))
        self.calls[method] += 1
        params: JsonDict = {}
        try:
            params, files = await self._read_params(request)
            if request.match_info["token"] != self.token:
                raise TelegramApiError(401, "Unauthorized")
            if handler is None:
                raise TelegramApiError(404, "Not Found")
            failures = self._failures.get(method.lower())
            if failures:
                status, description = failures.pop(0)
                raise TelegramApiError(status, description)
            delays = self._delays.get(method.lower())
            delay = delays.pop(0) if delays else None
            result = await handler(_Call(method, params, files, ambiguous=delay is not None))
            if delay is not None:
                await self._sleep_unless_stopping(delay)
            status, body = 200, {"ok": True, "result": result}
        except TelegramApiError as error:
            status, body = error.status, error.body()
        self.requests.append(ApiRequest(method, params, status, time.time()))
        self._changes.notify()
        return web.Response(
            status=status,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )

    async def _read_params(self, request: web.Request) -> tuple[JsonDict, dict[str, web.FileField]]:
        params: JsonDict = {}
        files: dict[str, web.FileField] = {}
        for name, value in request.query.items():
            params[name] = _coerce_form_value(name, value)
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for name, part in form.items():
                if isinstance(part, web.FileField):
                    files[name] = part
                elif isinstance(part, str):
                    params[name] = _coerce_form_value(name, part)
        return params, files

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        for path, content in self._files.values():
            if path == request.match_info["path"]:
                return web.Response(body=content)
        return web.Response(status=404)

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    # ----------------------------------------------------------------- state helpers

    def _chat(self, chat_id: int, chat_type: ChatType | None) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = _Chat(id=chat_id, type=chat_type or _default_chat_type(chat_id))
            self._chats[chat_id] = chat
        return chat

    def _target_chat(self, params: JsonDict) -> _Chat:
        """The chat a request addresses, after the checks Telegram makes for every send."""
        chat_id = params.get("chat_id")
        if isinstance(chat_id, str):
            matching = [c for c in self._chats.values() if f"@{c.username}" == chat_id]
            if not matching:
                raise TelegramApiError(400, "Bad Request: chat not found")
            chat = matching[0]
        elif isinstance(chat_id, int):
            chat = self._chat(chat_id, None)
        else:
            raise TelegramApiError(400, "Bad Request: chat_id is empty")
        if chat.migrated_to is not None:
            raise TelegramApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        return chat

    def _check_reachable(self, chat: _Chat) -> None:
        if not chat.blocked:
            return
        description = {
            "private": "Forbidden: bot was blocked by the user",
            "group": "Forbidden: bot was kicked from the group chat",
            "supergroup": "Forbidden: bot was kicked from the supergroup chat",
            "channel": "Forbidden: bot is not a member of the channel chat",
        }[chat.type]
        raise TelegramApiError(403, description)

    def _window(self, scope: str, key: int, limit: int, window_s: float) -> SlidingWindow:
        window = self._windows.get((scope, key))
        if window is None or window.limit != limit or window.window_s != window_s:
            window = SlidingWindow(limit, window_s)
            self._windows[(scope, key)] = window
        return window

    def _enforce_ceilings(self, chat: _Chat) -> None:
        """Admit one message (sendMessage, sendPhoto; edits are not counted) or answer 429
        with the wait that would have avoided it."""
        now = time.monotonic()
        windows: list[SlidingWindow] = []
        if self.overall_per_s is not None:
            windows.append(self._window("all", 0, self.overall_per_s, self.time_scale))
        if self.per_chat_per_s is not None:
            windows.append(self._window("chat", chat.id, self.per_chat_per_s, self.time_scale))
        if self.per_group_per_min is not None and chat.type != "private":
            windows.append(
                self._window("group", chat.id, self.per_group_per_min, 60 * self.time_scale)
            )
        wait = max((window.wait_needed(now) for window in windows), default=0.0)
        if wait > 0:
            self.rate_limited += 1
            # The Bot API sends whole seconds; a scaled-down fake sends the exact (short) wait.
            retry_after: float = max(1, math.ceil(wait)) if self.time_scale >= 1 else ceil_ms(wait)
            shown = math.ceil(retry_after)
            raise TelegramApiError(
                429, f"Too Many Requests: retry after {shown}", {"retry_after": retry_after}
            )
        for window in windows:
            window.admit(now)

    def _bot_message(self, chat: _Chat, params: JsonDict) -> JsonDict:
        message: JsonDict = {
            "message_id": chat.take_message_id(),
            "date": int(time.time()),
            "chat": chat.as_json(),
            "from": self.bot_user,
        }
        thread_id = params.get("message_thread_id")
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        reply_to = self._reply_to_message_id(params)
        if reply_to is not None and reply_to in chat.messages:
            message["reply_to_message"] = chat.messages[reply_to]
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            self._check_inline_keyboard(markup)
            message["reply_markup"] = markup
        return message

    @staticmethod
    def _reply_to_message_id(params: JsonDict) -> int | None:
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            return int(reply_parameters["message_id"])
        reply_to = params.get("reply_to_message_id")
        return int(reply_to) if reply_to is not None else None

    @staticmethod
    def _check_inline_keyboard(markup: JsonDict) -> None:
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA_BYTES:
                    raise TelegramApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    @staticmethod
    def _visible_text(text: str, parse_mode: str | None) -> str:
        return (
            _parse_html(text) if parse_mode is not None and parse_mode.upper() == "HTML" else text
        )

    # ----------------------------------------------------------------- Bot API methods

    async def _get_me(self, call: _Call) -> JsonDict:
        return self.bot_user

    async def _no_op(self, call: _Call) -> bool:
        return True

    async def _delete_webhook(self, call: _Call) -> bool:
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = None
        return True

    async def _set_webhook(self, call: _Call) -> bool:
        url = str(call.params.get("url") or "")
        if not url:  # an empty URL removes the webhook
            return await self._delete_webhook(call)
        parts = urlsplit(url)
        try:
            port = parts.port or 443
        except ValueError:
            port = -1
        if parts.scheme != "https" or not parts.hostname:
            raise TelegramApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        if port not in WEBHOOK_PORTS:
            raise TelegramApiError(
                400,
                "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
            )
        secret = call.params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.fullmatch(str(secret)):
            raise TelegramApiError(400, "Bad Request: secret token contains unallowed characters")
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        allowed = call.params.get("allowed_updates")
        self.webhook = Webhook(
            url=url,
            secret_token=str(secret) if secret is not None else None,
            allowed_updates=list(allowed) if isinstance(allowed, list) else None,
            max_connections=int(call.params.get("max_connections") or 40),
        )
        return True

    async def _get_webhook_info(self, call: _Call) -> JsonDict:
        info: JsonDict = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = self.webhook.allowed_updates
        return info

    async def _get_updates(self, call: _Call) -> list[JsonDict]:
        if self.webhook is not None:
            raise TelegramApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        offset = int(call.params.get("offset") or 0)
        limit = int(call.params.get("limit") or 100)
        timeout = float(call.params.get("timeout") or 0)
        if offset > 0:
            # Confirming: every update below the offset is forgotten.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._changes.notify()
        if not self._updates and timeout > 0 and not self._stopping.is_set():
            with suppress(TimeoutError):
                await self._changes.wait_until(
                    lambda: bool(self._updates) or self._stopping.is_set(), timeout, "updates"
                )
        return self._updates[:limit]

    @staticmethod
    def _commands_key(params: JsonDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _set_my_commands(self, call: _Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise TelegramApiError(400, "Bad Request: can't parse commands JSON object")
        self.commands[self._commands_key(call.params)] = commands
        return True

    async def _get_my_commands(self, call: _Call) -> list[JsonDict]:
        return self.commands.get(self._commands_key(call.params), [])

    async def _delete_my_commands(self, call: _Call) -> bool:
        self.commands.pop(self._commands_key(call.params), None)
        return True

    async def _send_message(self, call: _Call) -> JsonDict:
        params = call.params
        chat = self._target_chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        parse_mode = params.get("parse_mode")
        plain = self._visible_text(text, parse_mode)
        if not plain.strip():
            raise TelegramApiError(400, "Bad Request: message text is empty")
        if _utf16_len(plain) > MAX_TEXT_LENGTH:
            raise TelegramApiError(400, "Bad Request: message is too long")
        self._enforce_ceilings(chat)
        self._check_reachable(chat)
        message = self._bot_message(chat, params)
        message["text"] = plain
        return self._record_sent(call, chat, message, text=text, plain=plain, photo=None)

    async def _send_photo(self, call: _Call) -> JsonDict:
        params = call.params
        chat = self._target_chat(params)
        upload = call.files.get("photo")
        photo_param = params.get("photo")
        if upload is not None:
            content = upload.file.read()
            photo = upload.filename
        elif isinstance(photo_param, str) and photo_param in self._files:
            content = self._files[photo_param][1]  # a photo sent before, by its file_id
            photo = photo_param
        elif isinstance(photo_param, str) and photo_param.startswith(("http://", "https://")):
            content = b""
            photo = photo_param
        elif isinstance(photo_param, str) and photo_param:
            raise TelegramApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        else:
            raise TelegramApiError(400, "Bad Request: there is no photo in the request")
        caption = params.get("caption")
        parse_mode = params.get("parse_mode")
        plain = self._visible_text(caption, parse_mode) if isinstance(caption, str) else None
        if plain is not None and _utf16_len(plain) > MAX_CAPTION_LENGTH:
            raise TelegramApiError(400, "Bad Request: message caption is too long")
        self._enforce_ceilings(chat)
        self._check_reachable(chat)
        message = self._bot_message(chat, params)
        file_id = f"photo-{chat.id}-{message['message_id']}"
        self._files[file_id] = (f"photos/{file_id}.jpg", content)
        message["photo"] = [
            {
                "file_id": file_id,
                "file_unique_id": file_id,
                "width": 800,
                "height": 600,
                "file_size": len(content),
            }
        ]
        if plain is not None:
            message["caption"] = plain
        return self._record_sent(call, chat, message, text=caption, plain=plain, photo=photo)

    def _record_sent(
        self,
        call: _Call,
        chat: _Chat,
        message: JsonDict,
        *,
        text: str | None,
        plain: str | None,
        photo: str | None,
    ) -> JsonDict:
        chat.messages[message["message_id"]] = message
        markup = call.params.get("reply_markup")
        self.sent.append(
            TelegramSent(
                method=call.method,
                message_id=message["message_id"],
                chat_id=chat.id,
                text=text,
                plain_text=plain,
                thread_id=call.params.get("message_thread_id"),
                parse_mode=call.params.get("parse_mode"),
                reply_markup=markup if isinstance(markup, dict) else None,
                reply_to_message_id=self._reply_to_message_id(call.params),
                timestamp=time.time(),
                photo=photo,
                ambiguous=call.ambiguous,
                params=call.params,
            )
        )
        return message

    async def _edit_message_text(self, call: _Call) -> JsonDict:
        params = call.params
        chat = self._target_chat(params)
        self._check_reachable(chat)
        message_id = params.get("message_id")
        message = chat.messages.get(message_id) if isinstance(message_id, int) else None
        if message is None:
            raise TelegramApiError(400, "Bad Request: message to edit not found")
        if message.get("from", {}).get("id") != self.bot_id:
            raise TelegramApiError(400, "Bad Request: message can't be edited")
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise TelegramApiError(400, "Bad Request: text must be non-empty")
        parse_mode = params.get("parse_mode")
        plain = self._visible_text(text, parse_mode)
        if _utf16_len(plain) > MAX_TEXT_LENGTH:
            raise TelegramApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = params.get("reply_markup")
        new_markup = markup if isinstance(markup, dict) else None
        if plain == message.get("text") and new_markup == message.get("reply_markup"):
            raise TelegramApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message["text"] = plain
        message["edit_date"] = int(time.time())
        if new_markup is not None:
            self._check_inline_keyboard(new_markup)
            message["reply_markup"] = new_markup
        else:
            message.pop("reply_markup", None)
        self.edits.append(
            TelegramEdit(
                chat_id=chat.id,
                message_id=message["message_id"],
                text=text,
                parse_mode=parse_mode,
                reply_markup=new_markup,
                timestamp=time.time(),
                ambiguous=call.ambiguous,
            )
        )
        return message

    async def _answer_callback_query(self, call: _Call) -> bool:
        query_id = str(call.params.get("callback_query_id"))
        if query_id not in self._open_callback_queries:
            raise TelegramApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_callback_queries.discard(query_id)
        text = call.params.get("text")
        self.callback_answers.append(
            CallbackAnswer(
                callback_query_id=query_id,
                text=text if isinstance(text, str) else None,
                show_alert=bool(call.params.get("show_alert")),
                timestamp=time.time(),
            )
        )
        return True

    async def _get_chat(self, call: _Call) -> JsonDict:
        chat = self._target_chat(call.params)
        self._check_reachable(chat)
        return {
            **chat.as_json(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _member_json(self, chat: _Chat, user_id: int) -> JsonDict:
        user = self.bot_user if user_id == self.bot_id else _user_json(user_id)
        if user_id == chat.owner_id:
            return {"status": "creator", "user": user, "is_anonymous": False}
        if user_id in chat.admin_ids:
            return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
        return {"status": "member", "user": user}

    async def _get_chat_member(self, call: _Call) -> JsonDict:
        chat = self._target_chat(call.params)
        self._check_reachable(chat)
        user_id = call.params.get("user_id")
        if not isinstance(user_id, int):
            raise TelegramApiError(400, "Bad Request: invalid user_id specified")
        return self._member_json(chat, user_id)

    async def _get_chat_administrators(self, call: _Call) -> list[JsonDict]:
        chat = self._target_chat(call.params)
        self._check_reachable(chat)
        if chat.type == "private":
            raise TelegramApiError(
                400, "Bad Request: there are no administrators in the private chat"
            )
        user_ids = ([chat.owner_id] if chat.owner_id is not None else []) + [
            user_id for user_id in chat.admin_ids if user_id != chat.owner_id
        ]
        return [self._member_json(chat, user_id) for user_id in user_ids]

    async def _get_file(self, call: _Call) -> JsonDict:
        file_id = str(call.params.get("file_id"))
        if file_id not in self._files:
            raise TelegramApiError(400, "Bad Request: invalid file_id")
        path, content = self._files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(content),
            "file_path": path,
        }


@asynccontextmanager
async def run_application(
    application: AnyApplication, *, poll_timeout: float = 1.0
) -> AsyncIterator[AnyApplication]:
    """Run a PTB ``Application`` with the manual lifecycle the real bot uses (initialize →
    updater.start_polling → start … updater.stop → stop → shutdown); always tears it down.
    ``poll_timeout`` is the getUpdates long-poll length."""
    updater = application.updater
    if updater is None:
        raise ValueError("the application was built without an Updater")
    await application.initialize()
    try:
        await updater.start_polling(poll_interval=0.0, timeout=dt.timedelta(seconds=poll_timeout))
        await application.start()
        yield application
    finally:
        if updater.running:
            await updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
