"""A fake Discord (REST v10 + gateway) on 127.0.0.1 that the real discord.py talks to.

Wire discord.py in with ``with fake.patch_discord(): ...`` (it sets ``discord.http.Route.BASE``
and ``DiscordWebSocket.DEFAULT_GATEWAY``). See tests/fakes/README.md for the API.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import itertools
import json
import math
import secrets
import time
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Self

import yarl
from aiohttp import WSMsgType, web

from ._common import FixedWindow, StateChanges, ceil_ms

with warnings.catch_warnings():
    # discord.py imports the stdlib `audioop` for voice; importing it is deprecated since
    # Python 3.11 (PEP 594). Voice is unused here, and the import happens once per process.
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

JsonDict = dict[str, Any]

API_PREFIX = "/api/v10"
GATEWAY_PATH = "/gateway-ws"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = discord.Permissions.all().value
DEFAULT_EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY
) | USE_APPLICATION_COMMANDS
DEFAULT_BOT_PERMISSIONS = VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | READ_MESSAGE_HISTORY

# Gateway opcodes.
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME = 0, 1, 2, 6
OP_REQUEST_MEMBERS, OP_HELLO, OP_HEARTBEAT_ACK = 8, 10, 11

# Interaction types.
INTERACTION_COMMAND, INTERACTION_COMPONENT, INTERACTION_AUTOCOMPLETE = 2, 3, 4

# Interaction callback types (6 and 7 only answer component interactions).
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE = 4, 5
DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE = 6, 7
AUTOCOMPLETE_RESULT = 8
MESSAGE_FLAG_EPHEMERAL, MESSAGE_FLAG_LOADING = 1 << 6, 1 << 7

# Option types of application commands.
OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP = 1, 2
OPTION_STRING, OPTION_INTEGER, OPTION_BOOLEAN = 3, 4, 5
OPTION_USER, OPTION_CHANNEL, OPTION_ROLE, OPTION_NUMBER = 6, 7, 8, 10

CHANNEL_TEXT, CHANNEL_DM = 0, 1

# Message component types.
COMPONENT_ACTION_ROW, COMPONENT_BUTTON = 1, 2

INTERACTION_ACK_DEADLINE_S = 3.0
INTERACTION_TOKEN_LIFETIME_S = 15 * 60.0
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
MAX_CONTENT_LENGTH = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MAX_NONCE_LENGTH = 25
MAX_AUTOCOMPLETE_CHOICES = 25

_EMBED_LIMITS = {"title": 256, "description": 4096}
_RATE_LIMIT_BODY = "You are being rate limited."
# Set by the middleware: the response to this request will be held back by `delay_next`.
_AMBIGUOUS = web.RequestKey("ambiguous", bool)


class DiscordApiError(Exception):
    """Raised inside a route handler; becomes Discord's JSON error body."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: JsonDict | None = None,
        headers: Mapping[str, str] | None = None,
        body: JsonDict | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})
        self.body_override = body

    def response(self) -> web.Response:
        body: JsonDict = self.body_override or {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return _json_response(body, self.status, self.headers)


class InteractionRejected(Exception):
    """Discord itself would never deliver this interaction (command not registered, member
    lacks its default_member_permissions, or a guild-only command used in a DM)."""


def _json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly "application/json";
    # aiohttp's json_response would append "; charset=utf-8".
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat()


def _form_error(field_name: str, code: str, message: str) -> DiscordApiError:
    return DiscordApiError(
        400,
        50035,
        "Invalid Form Body",
        errors={field_name: {"_errors": [{"code": code, "message": message}]}},
    )


# The locales Discord accepts in name_localizations / description_localizations.
DISCORD_LOCALES = frozenset(
    [
        "id",
        "da",
        "de",
        "en-GB",
        "en-US",
        "es-ES",
        "es-419",
        "fr",
        "hr",
        "it",
        "lt",
        "hu",
        "nl",
        "no",
        "pl",
        "pt-BR",
        "ro",
        "fi",
        "sv-SE",
        "vi",
        "tr",
        "cs",
        "el",
        "bg",
        "ru",
        "uk",
        "hi",
        "th",
        "zh-CN",
        "ja",
        "zh-TW",
        "ko",
    ]
)
# Discord's ceilings: command and option descriptions, choice names.
LOCALIZED_TEXT_MAX = {"description_localizations": 100, "name_localizations": 100}


def _check_localizations(node: JsonDict, path: str) -> None:
    """Refuse localizations Discord refuses: an unknown locale, an empty or too long text.
    Recurses into options and choices."""
    for key, limit in LOCALIZED_TEXT_MAX.items():
        for locale, text in (node.get(key) or {}).items():
            if locale not in DISCORD_LOCALES:
                raise _form_error(f"{path}.{key}.{locale}", "LOCALE_INVALID", "Invalid locale")
            if not isinstance(text, str) or not 1 <= len(text) <= limit:
                raise _form_error(
                    f"{path}.{key}.{locale}",
                    "BASE_TYPE_BAD_LENGTH",
                    f"Must be between 1 and {limit} in length.",
                )
    for index, option in enumerate(node.get("options") or []):
        _check_localizations(option, f"{path}.options.{index}")
    for index, choice in enumerate(node.get("choices") or []):
        _check_localizations(choice, f"{path}.choices.{index}")


def _find_component(components: list[JsonDict], custom_id: str) -> JsonDict | None:
    """The component with ``custom_id`` among a message's components (rows, containers…)."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        nested = [
            *(component.get("components") or []),
            *([component["accessory"]] if component.get("accessory") else []),
        ]
        found = _find_component(nested, custom_id)
        if found is not None:
            return found
    return None


@dataclass
class DiscordRole:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False

    def as_json(self, bot_id: int | None = None) -> JsonDict:
        data: JsonDict = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.managed and bot_id is not None:
            data["tags"] = {"bot_id": str(bot_id)}
        return data


@dataclass
class DiscordChannel:
    id: int
    guild_id: int | None
    name: str
    type: int = CHANNEL_TEXT
    position: int = 0
    overwrites: list[JsonDict] = field(default_factory=list)
    """permission_overwrites: {"id", "type" (0 role, 1 member), "allow", "deny"} (ints)."""
    recipient_id: int | None = None
    deleted: bool = False
    access_error: tuple[int, str] | None = None
    # The bot may post but not upload here (no Attach Files): a message with files gets 50013.
    attachments_denied: bool = False

    def overwrites_json(self) -> list[JsonDict]:
        return [
            {
                "id": str(o["id"]),
                "type": o["type"],
                "allow": str(o.get("allow", 0)),
                "deny": str(o.get("deny", 0)),
            }
            for o in self.overwrites
        ]


@dataclass
class DiscordMember:
    user_id: int
    username: str
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: float = field(default_factory=time.time)


@dataclass
class DiscordGuild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, DiscordRole] = field(default_factory=dict)
    channels: dict[int, DiscordChannel] = field(default_factory=dict)
    members: dict[int, DiscordMember] = field(default_factory=dict)
    joined_at: float = field(default_factory=time.time)
    bot_role_id: int = 0
    locale: str = "en-US"  # preferred_locale, and guild_locale of its interactions


@dataclass
class DiscordMessage:
    """A message created with POST /channels/{id}/messages."""

    id: int
    channel_id: int
    content: str
    embeds: list[JsonDict]
    nonce: str | int | None
    timestamp: float
    attachments: list[JsonDict] = field(default_factory=list)
    components: list[JsonDict] = field(default_factory=list)
    flags: int = 0
    ambiguous: bool = False
    """Stored, but the response was held back by `delay_next` (the sender may give up)."""
    edited_timestamp: float | None = None
    deleted: bool = False
    payload: JsonDict = field(default_factory=dict)


@dataclass
class InteractionResponse:
    """What the bot did with an interaction, in order.

    ``kind`` is "callback" (``type`` is the callback type: 4 message, 5 deferred, 8 autocomplete
    choices…), "followup", "edit_original", "edit_followup", "delete_original" or
    "delete_followup" (``type`` None)."""

    interaction_id: int
    kind: str
    type: int | None
    data: JsonDict
    timestamp: float
    ambiguous: bool = False


@dataclass
class SentInteraction:
    """An interaction the test sent, with what became of it."""

    id: int
    token: str
    payload: JsonDict
    created: float
    channel_id: int
    guild_id: int | None
    acknowledged: bool = False
    original: JsonDict | None = None
    followups: list[JsonDict] = field(default_factory=list)


def _interaction_user_id(interaction: SentInteraction) -> int:
    user = (interaction.payload.get("member") or {}).get("user") or interaction.payload["user"]
    return int(user["id"])


@dataclass
class RestRequest:
    method: str
    route: str
    """e.g. "POST /channels/{channel_id}/messages"."""
    path: str
    status: int
    timestamp: float


@dataclass
class _GatewaySession:
    session_id: str
    shard: tuple[int, int] | None
    intents: int | None
    seq: int = 0
    frames: list[tuple[int, str]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None


@dataclass
class _Failure:
    method: str | None
    path_prefix: str
    status: int
    code: int
    message: str


class FakeDiscord:
    """Fake Discord API. Create, add guilds, ``await start()``, ``with fake.patch_discord():``.

    Ceilings: ``overall_per_s`` requests per second for all REST calls except interaction
    responses (429 with ``global: true``), and ``per_channel`` = (count, seconds) for message
    creation in one channel (advertised in X-RateLimit-* headers like Discord does, so discord.py
    paces itself; crossing it anyway answers a bucket 429). ``time_scale`` multiplies every window
    and deadline (interaction 3 s acknowledgement, 15 min tokens, nonce memory). Ceilings are
    plain attributes: change them at any time, ``None`` disables one.
    """

    DEFAULT_TOKEN = "FAKE.discord.bot-token"

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_id: int = 900_000_000_000_000_001,
        bot_name: str = "top10bot",
        overall_per_s: int | None = 50,
        per_channel: tuple[int, float] | None = (5, 5.0),
        time_scale: float = 1.0,
        heartbeat_interval_ms: int = 41_250,
        nonce_memory_s: float = 300.0,
        shard_count: int = 1,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.application_id = bot_id
        self.bot_user: JsonDict = {
            "id": str(bot_id),
            "username": bot_name,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
            "public_flags": 0,
            "flags": 0,
            "verified": True,
            "mfa_enabled": False,
        }
        self.overall_per_s = overall_per_s
        self.per_channel = per_channel
        self.time_scale = time_scale
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.nonce_memory_s = nonce_memory_s
        self.shard_count = shard_count

        self.guilds: dict[int, DiscordGuild] = {}
        self.messages: list[DiscordMessage] = []
        self.message_edits: list[tuple[int, JsonDict]] = []
        """PATCH /channels/{id}/messages/{id} that went through: (message id, payload)."""
        self.interaction_responses: list[InteractionResponse] = []
        self.interactions: dict[int, SentInteraction] = {}
        self.commands: dict[int | None, list[JsonDict]] = {}
        """Registered application commands by guild id (None: global), as Discord stores them."""
        self.command_syncs: Counter[int | None] = Counter()
        self.identifies: list[JsonDict] = []
        self.requests: list[RestRequest] = []
        self.calls: Counter[str] = Counter()
        self.rate_limited = 0
        self.invalid_requests = 0
        """401/403/429 answers: Discord bans an IP after 10,000 of them in 10 minutes."""
        self.deduplicated = 0
        """Message creations answered with an existing message because of enforce_nonce."""
        self.uploads: dict[str, bytes] = {}
        """The bytes of every uploaded file, by the attachment id the fake gave it."""

        self._users: dict[int, JsonDict] = {bot_id: self.bot_user}
        self._dm_channels: dict[int, DiscordChannel] = {}
        self._blocked_dm_users: set[int] = set()
        self._channel_index: dict[int, DiscordChannel] = {}
        self._nonces: dict[str, tuple[float, DiscordMessage]] = {}
        self._interaction_by_token: dict[str, SentInteraction] = {}
        self._interaction_messages: dict[int, JsonDict] = {}
        # Component interaction id → the message its button is on (what type 7 updates).
        self._component_sources: dict[int, JsonDict | DiscordMessage] = {}
        # Component interactions answered with type 6/7: their @original is that message.
        self._updating_interactions: set[int] = set()
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._failures: list[_Failure] = []
        self._delays: list[tuple[str | None, str, float]] = []
        self._global_window: FixedWindow | None = None
        self._channel_windows: dict[int, FixedWindow] = {}
        self._sessions: dict[str, _GatewaySession] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._background: set[asyncio.Task[None]] = set()
        self._snowflake_sequence = itertools.count()
        self._changes = StateChanges()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application(middlewares=[self._rest_middleware])
        app.router.add_get(GATEWAY_PATH, self._gateway)
        routes: list[tuple[str, str, Callable[[web.Request], Any]]] = [
            ("GET", "/users/@me", self._get_me),
            ("POST", "/users/@me/channels", self._create_dm),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway_bot),
            ("GET", "/applications/{app_id}/commands", self._get_commands),
            ("PUT", "/applications/{app_id}/commands", self._put_commands),
            ("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self._get_commands),
            ("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self._put_commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._callback),
            ("POST", "/webhooks/{app_id}/{token}", self._create_followup),
            ("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self._get_webhook_msg),
            ("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self._edit_webhook_msg),
            ("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}", self._del_webhook_msg),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            ("PATCH", "/channels/{channel_id}/messages/{message_id}", self._edit_message),
            ("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            ("GET", "/guilds/{guild_id}", self._get_guild),
            ("GET", "/guilds/{guild_id}/channels", self._get_guild_channels),
            ("GET", "/guilds/{guild_id}/roles", self._get_guild_roles),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, API_PREFIX + path, handler)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._unknown_route)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Close gateway connections and the server. Close discord.py clients first, or they
        will try to reconnect."""
        self._stopping.set()
        self._changes.notify()
        for ws in list(self._sockets):
            await ws.close(code=1001)
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
            raise RuntimeError("FakeDiscord is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return self.url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY`` (also sent as resume_gateway_url)."""
        return f"ws://127.0.0.1:{self._port}{GATEWAY_PATH}"

    @contextmanager
    def patch_discord(self) -> Iterator[None]:
        """Point discord.py's REST routes and gateway at this fake; restores them on exit."""
        saved_base, saved_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
        Route.BASE = self.api_base
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        try:
            yield
        finally:
            Route.BASE = saved_base
            DiscordWebSocket.DEFAULT_GATEWAY = saved_gateway

    # ----------------------------------------------------------------- world set-up

    def add_guild(
        self,
        guild_id: int,
        name: str = "Test Guild",
        *,
        owner_id: int = 1,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        locale: str = "en-US",
    ) -> DiscordGuild:
        """A guild the bot is in, with the @everyone role (id = guild id) and the bot's managed
        role (``guild.bot_role_id``) carrying ``bot_permissions``. Guilds added after the
        client connected arrive as GUILD_CREATE."""
        guild = DiscordGuild(id=guild_id, name=name, owner_id=owner_id, locale=locale)
        guild.roles[guild_id] = DiscordRole(guild_id, "@everyone", everyone_permissions)
        bot_role = DiscordRole(
            self._snowflake(), self.bot_user["username"], bot_permissions, position=1, managed=True
        )
        guild.roles[bot_role.id] = bot_role
        guild.bot_role_id = bot_role.id
        guild.members[self.bot_id] = DiscordMember(
            self.bot_id, self.bot_user["username"], [bot_role.id]
        )
        self._remember_user(owner_id, f"owner{owner_id}")
        guild.members.setdefault(owner_id, DiscordMember(owner_id, f"owner{owner_id}"))
        self.guilds[guild_id] = guild
        self._schedule_dispatch(
            "GUILD_CREATE", lambda: self._guild_create_json(guild, newly_joined=True), guild_id
        )
        return guild

    def add_channel(
        self,
        guild_id: int,
        channel_id: int,
        name: str = "general",
        *,
        overwrites: list[JsonDict] | None = None,
    ) -> DiscordChannel:
        """A text channel; ``overwrites`` are permission overwrites with int allow/deny."""
        guild = self.guilds[guild_id]
        channel = DiscordChannel(
            id=channel_id,
            guild_id=guild_id,
            name=name,
            position=len(guild.channels),
            overwrites=list(overwrites or []),
        )
        guild.channels[channel_id] = channel
        self._channel_index[channel_id] = channel
        self._schedule_dispatch("CHANNEL_CREATE", lambda: self._channel_json(channel), guild_id)
        return channel

    def add_role(
        self, guild_id: int, role_id: int, name: str, permissions: int, *, position: int = 1
    ) -> DiscordRole:
        role = DiscordRole(role_id, name, permissions, position=position)
        self.guilds[guild_id].roles[role_id] = role
        return role

    def add_member(
        self,
        guild_id: int,
        user_id: int,
        username: str | None = None,
        *,
        role_ids: list[int] | None = None,
        nick: str | None = None,
    ) -> DiscordMember:
        username = username or f"user{user_id}"
        self._remember_user(user_id, username)
        member = DiscordMember(user_id, username, list(role_ids or []), nick=nick)
        self.guilds[guild_id].members[user_id] = member
        return member

    def delete_channel(self, channel_id: int, *, notify_gateway: bool = True) -> None:
        """The channel is gone: every request about it answers 404 {code 10003 Unknown Channel}.
        With ``notify_gateway`` connected clients get CHANNEL_DELETE (as when it is deleted
        while the bot is online)."""
        channel = self._channel_index[channel_id]
        channel.deleted = True
        if notify_gateway and channel.guild_id is not None:
            self._schedule_dispatch(
                "CHANNEL_DELETE", lambda: self._channel_json(channel), channel.guild_id
            )

    def revoke_access(self, channel_id: int, code: int = 50001) -> None:
        """Requests about the channel answer 403: code 50001 "Missing Access" (the bot cannot
        see it) or 50013 "Missing Permissions" (it cannot post)."""
        message = {50001: "Missing Access", 50013: "Missing Permissions"}[code]
        self._channel_index[channel_id].access_error = (code, message)

    def deny_attachments(self, channel_id: int) -> None:
        """The bot lacks Attach Files in the channel: a message carrying a file answers 403
        {code 50013 Missing Permissions}; a message without one is posted as usual."""
        self._channel_index[channel_id].attachments_denied = True

    def restore_access(self, channel_id: int) -> None:
        self._channel_index[channel_id].access_error = None

    def block_dms(self, user_id: int) -> None:
        """DMs to the user answer 403 {code 50007 Cannot send messages to this user}."""
        self._blocked_dm_users.add(user_id)

    def delete_message(self, message_id: int) -> None:
        """Someone deleted the message: fetching or editing it now answers 404 with code 10008
        "Unknown Message", as Discord does."""
        for message in self.messages:
            if message.id == message_id and not message.deleted:
                message.deleted = True
                self._changes.notify()
                return
        raise KeyError(f"no message {message_id}")

    def fail_next(
        self,
        path_prefix: str,
        status: int = 500,
        n: int = 1,
        *,
        method: str | None = None,
        code: int = 0,
        message: str | None = None,
    ) -> None:
        """The next ``n`` requests whose path (after /api/v10) starts with ``path_prefix``
        answer ``status`` without doing anything. discord.py retries 500/502/504 itself after
        1 s, 3 s… so keep ``n`` small in tests."""
        text = message or {500: "500: Internal Server Error", 502: "502: Bad Gateway"}.get(
            status, f"{status}: Error"
        )
        self._failures.extend(
            [_Failure(method and method.upper(), path_prefix, status, code, text)] * n
        )

    def delay_next(
        self, path_prefix: str, seconds: float, n: int = 1, *, method: str | None = None
    ) -> None:
        """The next ``n`` matching requests are carried out at once (recorded with
        ``ambiguous=True``) but answered only after ``seconds``."""
        self._delays.extend([(method and method.upper(), path_prefix, seconds)] * n)

    async def wait_until(
        self, predicate: Callable[[], bool], max_wait_s: float = 5.0, description: str = "condition"
    ) -> None:
        await self._changes.wait_until(predicate, max_wait_s, description)

    async def wait_for_messages(self, count: int, max_wait_s: float = 5.0) -> list[DiscordMessage]:
        await self.wait_until(
            lambda: len(self.messages) >= count, max_wait_s, f"{count} channel messages"
        )
        return self.messages

    async def wait_for_response(
        self, interaction: SentInteraction, count: int = 1, max_wait_s: float = 5.0
    ) -> list[InteractionResponse]:
        """Wait until the bot did ``count`` things with the interaction; returns them."""

        def responses() -> list[InteractionResponse]:
            return [r for r in self.interaction_responses if r.interaction_id == interaction.id]

        await self.wait_until(
            lambda: len(responses()) >= count, max_wait_s, f"{count} responses to {interaction.id}"
        )
        return responses()

    @property
    def connected_sessions(self) -> int:
        return sum(1 for s in self._sessions.values() if s.ws is not None and not s.ws.closed)

    # ----------------------------------------------------------------- interactions

    async def send_interaction(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        user_id: int,
        guild_id: int | None = None,
        channel_id: int | None = None,
        permissions: int | None = None,
        app_permissions: int | None = None,
        focused: str | None = None,
        locale: str = "en-US",
        discord_checks: bool = True,
    ) -> SentInteraction:
        """Dispatch INTERACTION_CREATE for a slash command as Discord would build it.

        Without ``guild_id`` the interaction comes from the user's DM with the bot (no
        ``channel_id`` needed). ``options`` maps option names to values (ids for user, channel
        and role options, which are resolved from the fake's world).
        ``name`` may contain spaces for subcommands ("alerts add"). Option types come from the
        registered command, so sync first. ``focused`` names the option being typed: the
        interaction is then an AUTOCOMPLETE (type 4) instead of an APPLICATION_COMMAND (type 2).
        ``permissions`` / ``app_permissions`` override the member's and the bot's channel
        permissions computed from roles and overwrites. With ``discord_checks`` the fake refuses
        (InteractionRejected) what Discord would not deliver at all.
        """
        path = name.split()
        command, command_guild = self._find_command(path[0], guild_id)
        if command is None and discord_checks:
            raise InteractionRejected(
                f"command {path[0]!r} is not registered here (sync the command tree first)"
            )
        channel = self._interaction_channel(user_id, guild_id, channel_id)
        member_permissions, app_permissions = self._interaction_permissions(
            channel, user_id, permissions, app_permissions
        )
        if command is not None and discord_checks:
            self._check_command_allowed(command, member_permissions, in_guild=guild_id is not None)

        schema = command.get("options", []) if command is not None else []
        built_options, resolved = self._build_options(
            path[1:], dict(options or {}), schema, focused, guild_id
        )
        data: JsonDict = {
            "id": str(command["id"]) if command is not None else str(self._snowflake()),
            "name": path[0],
            "type": command.get("type", 1) if command is not None else 1,
            "options": built_options,
        }
        if command_guild is not None:
            data["guild_id"] = str(command_guild)
        if resolved:
            data["resolved"] = resolved
        kind = INTERACTION_AUTOCOMPLETE if focused is not None else INTERACTION_COMMAND
        return await self._deliver_interaction(
            kind,
            data,
            user_id=user_id,
            guild_id=guild_id,
            channel=channel,
            member_permissions=member_permissions,
            app_permissions=app_permissions,
            locale=locale,
        )

    async def send_component_interaction(
        self,
        custom_id: str,
        *,
        message_id: int,
        user_id: int,
        channel_id: int | None = None,
        guild_id: int | None = None,
        permissions: int | None = None,
        app_permissions: int | None = None,
        locale: str = "en-US",
        discord_checks: bool = True,
    ) -> SentInteraction:
        """Dispatch INTERACTION_CREATE for a click on a button (MESSAGE_COMPONENT, type 3).

        ``message_id`` is a message the bot sent earlier: an interaction response or followup
        (``SentInteraction.original`` / ``followups``) or a channel message (``messages``). It
        travels in the interaction as Discord sends it (discord.py rebuilds dynamic items from
        its components). The channel and guild are the message's; ``channel_id`` / ``guild_id``
        may be given to state them and must then match. ``permissions`` / ``app_permissions``
        override the computed channel permissions, as in ``send_interaction``. With
        ``discord_checks`` the fake raises InteractionRejected for clicks Discord would not
        deliver: no enabled button with ``custom_id`` on the message, someone else's ephemeral
        message, a DM the user is not in, or a deleted channel.
        """
        if not self.connected_sessions:
            raise RuntimeError("no discord.py client is connected to the fake gateway")
        stored, source, owner = self._find_bot_message(message_id)
        channel = self._channel_index[int(stored["channel_id"])]
        if channel_id is not None and channel_id != channel.id:
            raise ValueError(f"message {message_id} is in channel {channel.id}, not {channel_id}")
        if guild_id is not None and guild_id != channel.guild_id:
            raise ValueError(f"message {message_id} is not in guild {guild_id}")
        if discord_checks:
            button = _find_component(stored.get("components") or [], custom_id)
            if button is None or button.get("type") != COMPONENT_BUTTON:
                raise InteractionRejected(f"message {message_id} has no button {custom_id!r}")
            if button.get("disabled"):
                raise InteractionRejected(f"button {custom_id!r} is disabled")
            if int(stored.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL and (
                owner is None or _interaction_user_id(owner) != user_id
            ):
                raise InteractionRejected(f"message {message_id} is someone else's ephemeral one")
            if channel.recipient_id is not None and channel.recipient_id != user_id:
                raise InteractionRejected(f"user {user_id} is not in DM channel {channel.id}")
            if channel.deleted:
                raise InteractionRejected(f"channel {channel.id} was deleted")
        if channel.guild_id is not None and user_id not in self.guilds[channel.guild_id].members:
            self.add_member(channel.guild_id, user_id)
        member_permissions, app_permissions = self._interaction_permissions(
            channel, user_id, permissions, app_permissions
        )
        return await self._deliver_interaction(
            INTERACTION_COMPONENT,
            {"custom_id": custom_id, "component_type": COMPONENT_BUTTON},
            user_id=user_id,
            guild_id=channel.guild_id,
            channel=channel,
            member_permissions=member_permissions,
            app_permissions=app_permissions,
            locale=locale,
            message=copy.deepcopy(stored),
            source=source,
        )

    def _interaction_channel(
        self, user_id: int, guild_id: int | None, channel_id: int | None
    ) -> DiscordChannel:
        """The channel a command is used in: a guild channel, or the user's DM with the bot."""
        if not self.connected_sessions:
            raise RuntimeError("no discord.py client is connected to the fake gateway")
        if guild_id is None:
            return self._dm_channel(user_id)
        if channel_id is None:
            raise ValueError("a guild interaction needs the channel_id it was used in")
        guild = self.guilds[guild_id]
        if user_id not in guild.members:
            self.add_member(guild_id, user_id)
        return guild.channels[channel_id]

    def _interaction_permissions(
        self,
        channel: DiscordChannel,
        user_id: int,
        permissions: int | None,
        app_permissions: int | None,
    ) -> tuple[int | None, int]:
        """The member's and the bot's permissions in the channel, unless the test set them (a
        DM has no member permissions)."""
        if channel.guild_id is None:
            if app_permissions is None:
                app_permissions = DEFAULT_BOT_PERMISSIONS
            return permissions, app_permissions
        guild = self.guilds[channel.guild_id]
        if permissions is None:
            permissions = self._channel_permissions(guild, channel, user_id)
        if app_permissions is None:
            app_permissions = self._channel_permissions(guild, channel, self.bot_id)
        return permissions, app_permissions

    def _find_bot_message(
        self, message_id: int
    ) -> tuple[JsonDict, JsonDict | DiscordMessage, SentInteraction | None]:
        """A live message the bot sent: its JSON as Discord shows it, the stored object that
        edits change, and the interaction it answered (None for a channel message)."""
        for interaction in self.interactions.values():
            for message in [interaction.original, *interaction.followups]:
                if message is not None and int(message["id"]) == message_id:
                    return message, message, interaction
        for stored in self.messages:
            if stored.id == message_id and not stored.deleted:
                return self._stored_message_json(stored), stored, None
        raise KeyError(f"the bot sent no message {message_id} (or it was deleted)")

    async def _deliver_interaction(
        self,
        kind: int,
        data: JsonDict,
        *,
        user_id: int,
        guild_id: int | None,
        channel: DiscordChannel,
        member_permissions: int | None,
        app_permissions: int,
        locale: str,
        message: JsonDict | None = None,
        source: JsonDict | DiscordMessage | None = None,
    ) -> SentInteraction:
        """Build the INTERACTION_CREATE payload Discord sends, remember it, dispatch it."""
        interaction_id = self._snowflake()
        token = f"interaction-token-{interaction_id}-{secrets.token_hex(8)}"
        payload: JsonDict = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "data": data,
            "token": token,
            "version": 1,
            "channel_id": str(channel.id),
            "channel": self._channel_json(channel, permissions=member_permissions),
            "app_permissions": str(app_permissions),
            "locale": locale,
            "entitlements": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if message is not None:
            payload["message"] = message
        if guild_id is not None:
            member = self.guilds[guild_id].members[user_id]
            payload["guild_id"] = str(guild_id)
            locale_of_guild = self.guilds[guild_id].locale
            payload["guild_locale"] = locale_of_guild
            payload["guild"] = {"id": str(guild_id), "locale": locale_of_guild, "features": []}
            payload["member"] = {
                **self._member_json(member),
                "permissions": str(member_permissions),
            }
            payload["authorizing_integration_owners"] = {"0": str(guild_id)}
            payload["context"] = 0
        else:
            payload["user"] = self._user_json(user_id)
            payload["authorizing_integration_owners"] = {"0": "0"}
            payload["context"] = 1

        sent = SentInteraction(
            id=interaction_id,
            token=token,
            payload=payload,
            created=time.monotonic(),
            channel_id=channel.id,
            guild_id=guild_id,
        )
        self.interactions[interaction_id] = sent
        self._interaction_by_token[token] = sent
        if source is not None:
            # Before dispatching: the bot may answer before `dispatch` returns.
            self._component_sources[interaction_id] = source
        await self.dispatch("INTERACTION_CREATE", payload, guild_id=guild_id)
        return sent

    async def send_autocomplete(
        self, name: str, options: Mapping[str, Any], focused: str, **kwargs: Any
    ) -> SentInteraction:
        """Shorthand for ``send_interaction(..., focused=...)``."""
        return await self.send_interaction(name, options, focused=focused, **kwargs)

    def _find_command(self, name: str, guild_id: int | None) -> tuple[JsonDict | None, int | None]:
        if guild_id is not None:
            for command in self.commands.get(guild_id, []):
                if command["name"] == name and command.get("type", 1) == 1:
                    return command, guild_id
        for command in self.commands.get(None, []):
            if command["name"] == name and command.get("type", 1) == 1:
                return command, None
        return None, None

    @staticmethod
    def _check_command_allowed(
        command: JsonDict, member_permissions: int | None, *, in_guild: bool
    ) -> None:
        if in_guild:
            if 0 not in (command.get("contexts") or [0]):
                raise InteractionRejected(f"/{command['name']} is not available in guilds")
            required = command.get("default_member_permissions")
            if required is not None and member_permissions is not None:
                needed = int(required)
                has_all = member_permissions & ADMINISTRATOR or (
                    member_permissions & needed == needed
                )
                if not has_all:
                    raise InteractionRejected(
                        f"member lacks default_member_permissions {needed} for /{command['name']}"
                    )
        else:
            contexts = command.get("contexts")
            if contexts is not None:
                dm_allowed = 1 in contexts
            else:
                dm_allowed = command.get("dm_permission") is not False
            if not dm_allowed:
                raise InteractionRejected(f"/{command['name']} is guild-only")

    def _build_options(
        self,
        subcommand_path: list[str],
        values: dict[str, Any],
        schema: list[JsonDict],
        focused: str | None,
        guild_id: int | None,
    ) -> tuple[list[JsonDict], JsonDict]:
        if subcommand_path:
            sub_name = subcommand_path[0]
            sub_schema = next((o for o in schema if o["name"] == sub_name), None)
            sub_type = (
                sub_schema["type"]
                if sub_schema is not None
                else (OPTION_SUB_COMMAND_GROUP if len(subcommand_path) > 1 else OPTION_SUB_COMMAND)
            )
            inner, inner_resolved = self._build_options(
                subcommand_path[1:],
                values,
                sub_schema.get("options", []) if sub_schema is not None else [],
                focused,
                guild_id,
            )
            return [{"name": sub_name, "type": sub_type, "options": inner}], inner_resolved

        built: list[JsonDict] = []
        resolved: dict[str, dict[str, JsonDict]] = {}
        types = {o["name"]: o["type"] for o in schema}
        for option_name, value in values.items():
            option_type = types.get(option_name) or self._guess_option_type(value)
            option: JsonDict = {"name": option_name, "type": option_type}
            if option_type in (OPTION_USER, OPTION_CHANNEL, OPTION_ROLE):
                snowflake = int(value)
                option["value"] = str(snowflake)
                self._resolve(option_type, snowflake, guild_id, resolved)
            else:
                option["value"] = value
            if option_name == focused:
                option["focused"] = True
            built.append(option)
        return built, resolved

    @staticmethod
    def _guess_option_type(value: Any) -> int:
        if isinstance(value, bool):
            return OPTION_BOOLEAN
        if isinstance(value, int):
            return OPTION_INTEGER
        if isinstance(value, float):
            return OPTION_NUMBER
        return OPTION_STRING

    def _resolve(
        self,
        option_type: int,
        snowflake: int,
        guild_id: int | None,
        resolved: dict[str, dict[str, JsonDict]],
    ) -> None:
        guild = self.guilds.get(guild_id) if guild_id is not None else None
        key = str(snowflake)
        if option_type == OPTION_CHANNEL and snowflake in self._channel_index:
            channel = self._channel_index[snowflake]
            permissions = (
                self._channel_permissions(guild, channel, self.bot_id) if guild is not None else 0
            )
            resolved.setdefault("channels", {})[key] = {
                "id": key,
                "name": channel.name,
                "type": channel.type,
                "permissions": str(permissions),
                "guild_id": str(channel.guild_id),
            }
        elif option_type == OPTION_ROLE and guild is not None and snowflake in guild.roles:
            resolved.setdefault("roles", {})[key] = guild.roles[snowflake].as_json(self.bot_id)
        elif option_type == OPTION_USER:
            resolved.setdefault("users", {})[key] = self._user_json(snowflake)
            if guild is not None and snowflake in guild.members:
                member = self._member_json(guild.members[snowflake])
                member.pop("user")
                resolved.setdefault("members", {})[key] = member

    # ----------------------------------------------------------------- gateway

    async def dispatch(self, event: str, data: JsonDict, *, guild_id: int | None = None) -> None:
        """Send a DISPATCH event to every identified session of the guild's shard; an event of
        no guild (a DM) goes to shard 0 only, as Discord sends it."""
        for session in list(self._sessions.values()):
            if self._in_shard(session, 0 if guild_id is None else guild_id):
                await self._send_dispatch(session, event, data)

    def shard_events(self, shard_id: int | None) -> list[tuple[str, JsonDict]]:
        """(event name, data) of every DISPATCH sent to the sessions that identified as shard
        ``shard_id`` (None: unsharded sessions), in order."""
        events: list[tuple[str, JsonDict]] = []
        for session in self._sessions.values():
            if (session.shard[0] if session.shard is not None else None) == shard_id:
                for _, frame in session.frames:
                    decoded = json.loads(frame)
                    events.append((decoded["t"], decoded["d"]))
        return events

    async def disconnect_gateway(self, code: int = 4000) -> None:
        """Drop every gateway connection; discord.py reconnects and RESUMEs."""
        for ws in list(self._sockets):
            await ws.close(code=code)

    def _schedule_dispatch(
        self, event: str, build: Callable[[], JsonDict], guild_id: int | None
    ) -> None:
        """World changes made while clients are connected reach them as gateway events."""
        if not self.connected_sessions:
            return
        task = asyncio.get_running_loop().create_task(
            self.dispatch(event, build(), guild_id=guild_id)
        )
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_dispatch(self, session: _GatewaySession, event: str, data: JsonDict) -> None:
        session.seq += 1
        frame = json.dumps({"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data})
        session.frames.append((session.seq, frame))
        if session.ws is not None and not session.ws.closed:
            # Text frames: binary ones would go through discord.py's zlib/zstd decompressor.
            await session.ws.send_str(frame)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        session: _GatewaySession | None = None
        try:
            await ws.send_str(
                json.dumps(
                    {
                        "op": OP_HELLO,
                        "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                        "s": None,
                        "t": None,
                    }
                )
            )
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                frame = json.loads(message.data)
                op, data = frame.get("op"), frame.get("d")
                if op == OP_HEARTBEAT:
                    await ws.send_str(json.dumps({"op": OP_HEARTBEAT_ACK}))
                elif op == OP_IDENTIFY:
                    session = await self._identify(ws, data)
                elif op == OP_RESUME:
                    session = await self._resume(ws, data)
                elif op == OP_REQUEST_MEMBERS and session is not None:
                    await self._send_member_chunk(session, data)
                self._changes.notify()
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
            self._changes.notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: JsonDict) -> _GatewaySession | None:
        self.identifies.append(data)
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        shard = data.get("shard")
        if shard is not None and not self._valid_shard(shard):
            await ws.close(code=4010, message=b"Invalid shard.")
            return None
        session = _GatewaySession(
            session_id=secrets.token_hex(16),
            shard=(int(shard[0]), int(shard[1])) if shard else None,
            intents=data.get("intents"),
            ws=ws,
        )
        self._sessions[session.session_id] = session
        guilds = [g for g in self.guilds.values() if self._in_shard(session, g.id)]
        ready: JsonDict = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "user_settings": {},
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "auth": {},
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        await self._send_dispatch(session, "READY", ready)
        for guild in guilds:
            await self._send_dispatch(session, "GUILD_CREATE", self._guild_create_json(guild))
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: JsonDict) -> _GatewaySession | None:
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token:
            await ws.send_str(json.dumps({"op": 9, "d": False}))  # INVALID_SESSION
            return None
        session.ws = ws
        last_seen = int(data.get("seq") or 0)
        for seq, frame in session.frames:
            if seq > last_seen:
                await ws.send_str(frame)
        await self._send_dispatch(session, "RESUMED", {})
        return session

    async def _send_member_chunk(self, session: _GatewaySession, data: JsonDict) -> None:
        guild_id = int(data["guild_id"])
        guild = self.guilds.get(guild_id)
        members = [self._member_json(m) for m in guild.members.values()] if guild else []
        chunk: JsonDict = {
            "guild_id": str(guild_id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        await self._send_dispatch(session, "GUILD_MEMBERS_CHUNK", chunk)

    @staticmethod
    def _valid_shard(shard: Any) -> bool:
        """``[shard_id, shard_count]`` with 0 <= shard_id < shard_count (else Discord closes the
        connection with 4010 Invalid shard)."""
        if not isinstance(shard, list) or len(shard) != 2:
            return False
        shard_id, shard_count = shard
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in shard):
            return False
        return 0 <= shard_id < shard_count

    def _in_shard(self, session: _GatewaySession, guild_id: int) -> bool:
        if session.shard is None:
            return True
        shard_id, shard_count = session.shard
        return (guild_id >> 22) % shard_count == shard_id

    # ----------------------------------------------------------------- JSON builders

    def _snowflake(self) -> int:
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (millis << 22) | (next(self._snowflake_sequence) % (1 << 22))

    def _remember_user(self, user_id: int, username: str) -> None:
        self._users.setdefault(
            user_id,
            {
                "id": str(user_id),
                "username": username,
                "discriminator": "0",
                "global_name": username,
                "avatar": None,
                "public_flags": 0,
            },
        )

    def _user_json(self, user_id: int) -> JsonDict:
        self._remember_user(user_id, f"user{user_id}")
        return self._users[user_id]

    def _member_json(self, member: DiscordMember) -> JsonDict:
        return {
            "user": self._user_json(member.user_id),
            "nick": member.nick,
            "avatar": None,
            "roles": [str(r) for r in member.role_ids],
            "joined_at": _iso(member.joined_at),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }

    def _channel_json(self, channel: DiscordChannel, *, permissions: int | None = None) -> JsonDict:
        data: JsonDict = {
            "id": str(channel.id),
            "type": channel.type,
            "last_message_id": None,
            "flags": 0,
        }
        if channel.type == CHANNEL_DM:
            assert channel.recipient_id is not None
            data["recipients"] = [self._user_json(channel.recipient_id)]
        else:
            data.update(
                {
                    "guild_id": str(channel.guild_id),
                    "name": channel.name,
                    "position": channel.position,
                    "permission_overwrites": channel.overwrites_json(),
                    "nsfw": False,
                    "parent_id": None,
                    "topic": None,
                    "rate_limit_per_user": 0,
                }
            )
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data

    def _guild_json(self, guild: DiscordGuild) -> JsonDict:
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.as_json(self.bot_id) for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "preferred_locale": guild.locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
        }

    def _guild_create_json(self, guild: DiscordGuild, *, newly_joined: bool = False) -> JsonDict:
        data = self._lazy_guild_create_json(guild)
        if newly_joined:
            # Without the key discord.py reports on_guild_join instead of on_guild_available.
            del data["unavailable"]
        return data

    def _lazy_guild_create_json(self, guild: DiscordGuild) -> JsonDict:
        return {
            **self._guild_json(guild),
            "joined_at": _iso(guild.joined_at),
            "large": False,
            "unavailable": False,
            "member_count": len(guild.members),
            "members": [self._member_json(m) for m in guild.members.values()],
            "channels": [self._channel_json(c) for c in guild.channels.values() if not c.deleted],
            "threads": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def _message_json(
        self,
        message_id: int,
        channel_id: int,
        payload: JsonDict,
        *,
        timestamp: float,
        flags: int = 0,
        webhook: bool = False,
    ) -> JsonDict:
        data: JsonDict = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": self.bot_user,
            "content": payload.get("content") or "",
            "timestamp": _iso(timestamp),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": payload.get("attachments") or [],
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": flags,
        }
        channel = self._channel_index.get(channel_id)
        if channel is not None and channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        if payload.get("nonce") is not None:
            data["nonce"] = payload["nonce"]
        if webhook:
            data["webhook_id"] = str(self.application_id)
            data["application_id"] = str(self.application_id)
        return data

    # ----------------------------------------------------------------- permissions

    def _channel_permissions(
        self, guild: DiscordGuild, channel: DiscordChannel, user_id: int
    ) -> int:
        """Discord's algorithm: base from roles, then @everyone, role and member overwrites."""
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        role_ids = member.role_ids if member is not None else []
        permissions = guild.roles[guild.id].permissions
        for role_id in role_ids:
            if role_id in guild.roles:
                permissions |= guild.roles[role_id].permissions
        if permissions & ADMINISTRATOR:
            return ALL_PERMISSIONS
        overwrites = {(o["type"], int(o["id"])): o for o in channel.overwrites}
        everyone = overwrites.get((0, guild.id))
        if everyone is not None:
            permissions = (permissions & ~int(everyone.get("deny", 0))) | int(
                everyone.get("allow", 0)
            )
        role_allow = role_deny = 0
        for role_id in role_ids:
            overwrite = overwrites.get((0, role_id))
            if overwrite is not None:
                role_allow |= int(overwrite.get("allow", 0))
                role_deny |= int(overwrite.get("deny", 0))
        permissions = (permissions & ~role_deny) | role_allow
        own = overwrites.get((1, user_id))
        if own is not None:
            permissions = (permissions & ~int(own.get("deny", 0))) | int(own.get("allow", 0))
        return permissions if permissions & VIEW_CHANNEL else 0

    # ----------------------------------------------------------------- REST plumbing

    @web.middleware
    async def _rest_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            response: web.StreamResponse = await handler(request)
            return response
        path = request.path.removeprefix(API_PREFIX)
        resource = request.match_info.route.resource
        template = resource.canonical.removeprefix(API_PREFIX) if resource is not None else path
        route = f"{request.method} {template}"
        self.calls[route] += 1
        interaction_route = path.startswith(("/interactions/", "/webhooks/"))
        try:
            failure = self._take_failure(request.method, path)
            if failure is not None:
                raise DiscordApiError(failure.status, failure.code, failure.message)
            if not interaction_route:
                if request.headers.get("Authorization") != f"Bot {self.token}":
                    raise DiscordApiError(401, 0, "401: Unauthorized")
                self._enforce_global_limit()
            delay = self._take_delay(request.method, path)
            request[_AMBIGUOUS] = delay is not None
            response = await handler(request)
            if delay is not None:
                await self._sleep_unless_stopping(delay)
        except DiscordApiError as error:
            response = error.response()
        if response.status in (401, 403, 429):
            self.invalid_requests += 1
        self.requests.append(RestRequest(request.method, route, path, response.status, time.time()))
        self._changes.notify()
        return response

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for index, failure in enumerate(self._failures):
            if failure.method in (None, method) and path.startswith(failure.path_prefix):
                return self._failures.pop(index)
        return None

    def _take_delay(self, method: str, path: str) -> float | None:
        for index, (delay_method, prefix, seconds) in enumerate(self._delays):
            if delay_method in (None, method) and path.startswith(prefix):
                del self._delays[index]
                return seconds
        return None

    async def _sleep_unless_stopping(self, seconds: float) -> None:
        with suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()

    def _enforce_global_limit(self) -> None:
        if self.overall_per_s is None:
            return
        window = self._global_window
        if window is None or (window.limit, window.window_s) != (
            self.overall_per_s,
            self.time_scale,
        ):
            window = self._global_window = FixedWindow(self.overall_per_s, self.time_scale)
        now = time.monotonic()
        wait = window.wait_needed(now)
        if wait > 0:
            self.rate_limited += 1
            raise DiscordApiError(
                429,
                0,
                _RATE_LIMIT_BODY,
                body={"message": _RATE_LIMIT_BODY, "retry_after": ceil_ms(wait), "global": True},
                headers={
                    "Retry-After": str(math.ceil(wait)),
                    "X-RateLimit-Global": "true",
                    "X-RateLimit-Scope": "global",
                    # Without Via discord.py takes a 429 for a Cloudflare ban and gives up.
                    "Via": "1.1 google",
                },
            )
        window.admit(now)

    def _channel_window(self, channel_id: int) -> FixedWindow | None:
        if self.per_channel is None:
            return None
        limit, seconds = self.per_channel
        window = self._channel_windows.get(channel_id)
        if window is None or (window.limit, window.window_s) != (limit, seconds * self.time_scale):
            window = FixedWindow(limit, seconds * self.time_scale)
            self._channel_windows[channel_id] = window
        return window

    @staticmethod
    def _bucket_headers(window: FixedWindow, now: float) -> dict[str, str]:
        reset_after = ceil_ms(window.reset_after(now))
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(window.remaining(now), 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": "fake-channel-messages",
            "Via": "1.1 google",
        }

    async def _read_payload(self, request: web.Request) -> JsonDict:
        """JSON body, or the payload_json part of a multipart body (files become attachments)."""
        if request.content_type == "application/json":
            body = await request.json()
            return body if isinstance(body, dict) else {"_list": body}
        if request.content_type == "multipart/form-data":
            form = await request.post()
            payload_json = form.get("payload_json")
            payload: JsonDict = json.loads(payload_json) if isinstance(payload_json, str) else {}
            attachments = []
            for index, (name, value) in enumerate(form.items()):
                if isinstance(value, web.FileField):
                    content = value.file.read()
                    attachment_id = str(self._snowflake())
                    self.uploads[attachment_id] = content
                    attachments.append(
                        {
                            "id": attachment_id,
                            "filename": value.filename,
                            "size": len(content),
                            "url": f"{self.url}/attachments/{index}/{value.filename}",
                            "proxy_url": f"{self.url}/attachments/{index}/{value.filename}",
                            "field": name,
                        }
                    )
            if attachments:
                payload["attachments"] = attachments
            return payload
        return {}

    @staticmethod
    def _validate_message(payload: JsonDict, *, allow_empty: bool = False) -> None:
        content = payload.get("content") or ""
        embeds = payload.get("embeds") or []
        if len(content) > MAX_CONTENT_LENGTH:
            raise _form_error("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
        if len(embeds) > MAX_EMBEDS:
            raise _form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
        total = 0
        for index, embed in enumerate(embeds):
            for key, limit in _EMBED_LIMITS.items():
                value = embed.get(key) or ""
                total += len(value)
                if len(value) > limit:
                    raise _form_error(
                        f"embeds.{index}.{key}",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
            fields = embed.get("fields") or []
            if len(fields) > 25:
                raise _form_error(
                    f"embeds.{index}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer."
                )
            for field_index, embed_field in enumerate(fields):
                for key, limit in (("name", 256), ("value", 1024)):
                    value = embed_field.get(key) or ""
                    total += len(value)
                    if not value or len(value) > limit:
                        raise _form_error(
                            f"embeds.{index}.fields.{field_index}.{key}",
                            "BASE_TYPE_BAD_LENGTH",
                            f"Must be between 1 and {limit} in length.",
                        )
            total += len((embed.get("footer") or {}).get("text") or "")
            total += len((embed.get("author") or {}).get("name") or "")
        if total > MAX_EMBED_TOTAL:
            raise _form_error(
                "embeds", "BASE_TYPE_MAX_LENGTH", "Embed size exceeds maximum size of 6000"
            )
        nonce = payload.get("nonce")
        if isinstance(nonce, str) and len(nonce) > MAX_NONCE_LENGTH:
            raise _form_error("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        if not allow_empty and not (
            content
            or embeds
            or payload.get("attachments")
            or payload.get("components")
            or payload.get("sticker_ids")
            or payload.get("poll")
        ):
            raise DiscordApiError(400, 50006, "Cannot send an empty message")

    def _channel_for_request(self, request: web.Request) -> DiscordChannel:
        channel = self._channel_index.get(int(request.match_info["channel_id"]))
        if channel is None or channel.deleted:
            raise DiscordApiError(404, 10003, "Unknown Channel")
        if channel.access_error is not None:
            code, message = channel.access_error
            raise DiscordApiError(403, code, message)
        return channel

    # ----------------------------------------------------------------- REST routes

    async def _unknown_route(self, request: web.Request) -> web.Response:
        raise DiscordApiError(404, 0, "404: Not Found")

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json_response(self.bot_user)

    async def _get_application(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "id": str(self.application_id),
                "name": self.bot_user["username"],
                "icon": None,
                "description": "fake application",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self._user_json(1),
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "bot": self.bot_user,
                "approximate_guild_count": len(self.guilds),
            }
        )

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - len(self.identifies),
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            }
        )

    def _check_application(self, request: web.Request) -> int | None:
        if int(request.match_info["app_id"]) != self.application_id:
            raise DiscordApiError(403, 50001, "Missing Access")
        guild_id = request.match_info.get("guild_id")
        if guild_id is not None and int(guild_id) not in self.guilds:
            raise DiscordApiError(403, 50001, "Missing Access")
        return int(guild_id) if guild_id is not None else None

    async def _get_commands(self, request: web.Request) -> web.Response:
        guild_id = self._check_application(request)
        return _json_response(self.commands.get(guild_id, []))

    async def _put_commands(self, request: web.Request) -> web.Response:
        guild_id = self._check_application(request)
        body = await request.json()
        if not isinstance(body, list):
            raise _form_error("_root", "LIST_TYPE_CONVERT", "Only iterables may be used")
        stored = []
        for position, command in enumerate(body):
            _check_localizations(command, str(position))
            kind = int(command.get("type", 1))
            key = (guild_id, command["name"], kind)
            command_id = self._command_ids.setdefault(key, self._snowflake())
            entry: JsonDict = {
                "id": str(command_id),
                "application_id": str(self.application_id),
                "version": str(self._snowflake()),
                "type": kind,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **command,
            }
            if entry["default_member_permissions"] is not None:
                # Discord stores and returns permission sets as strings.
                entry["default_member_permissions"] = str(entry["default_member_permissions"])
            if guild_id is not None:
                entry["guild_id"] = str(guild_id)
            stored.append(entry)
        self.commands[guild_id] = stored
        self.command_syncs[guild_id] += 1
        return _json_response(stored)

    def _interaction_for(self, request: web.Request) -> SentInteraction:
        interaction = self._interaction_by_token.get(request.match_info["token"])
        if interaction is None:
            raise DiscordApiError(404, 10015, "Unknown Webhook")
        if int(request.match_info["app_id"]) != self.application_id:
            raise DiscordApiError(404, 10015, "Unknown Webhook")
        if time.monotonic() - interaction.created > INTERACTION_TOKEN_LIFETIME_S * self.time_scale:
            raise DiscordApiError(401, 50027, "Invalid Webhook Token")
        return interaction

    def _record_response(
        self,
        request: web.Request,
        interaction: SentInteraction,
        kind: str,
        kind_type: int | None,
        data: JsonDict,
    ) -> None:
        self.interaction_responses.append(
            InteractionResponse(
                interaction_id=interaction.id,
                kind=kind,
                type=kind_type,
                data=data,
                timestamp=time.time(),
                ambiguous=request.get(_AMBIGUOUS, False),
            )
        )

    async def _callback(self, request: web.Request) -> web.Response:
        interaction = self.interactions.get(int(request.match_info["interaction_id"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            raise DiscordApiError(404, 10062, "Unknown interaction")
        if interaction.acknowledged:
            raise DiscordApiError(400, 40060, "Interaction has already been acknowledged.")
        if time.monotonic() - interaction.created > INTERACTION_ACK_DEADLINE_S * self.time_scale:
            raise DiscordApiError(404, 10062, "Unknown interaction")
        body = await self._read_payload(request)
        callback_type = int(body.get("type", 0))
        data: JsonDict = body.get("data") or {}
        message: JsonDict | None = None
        if callback_type == CHANNEL_MESSAGE:
            self._validate_message(data)
            message = self._message_json(
                self._snowflake(),
                interaction.channel_id,
                data,
                timestamp=time.time(),
                flags=int(data.get("flags") or 0),
                webhook=True,
            )
        elif callback_type == DEFERRED_CHANNEL_MESSAGE:
            message = self._message_json(
                self._snowflake(),
                interaction.channel_id,
                {},
                timestamp=time.time(),
                flags=MESSAGE_FLAG_LOADING | (int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL),
                webhook=True,
            )
        elif callback_type in (DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE):
            source = self._component_sources.get(interaction.id)
            if source is None:
                raise _form_error(
                    "type", "INTERACTION_CALLBACK_TYPE_INVALID", "Only for component interactions."
                )
            if callback_type == UPDATE_MESSAGE:
                self._validate_message(data, allow_empty=True)
                self._apply_edit(source, data)
            message = self._bot_message_json(source)
            self._updating_interactions.add(interaction.id)
        elif (
            callback_type == AUTOCOMPLETE_RESULT
            and len(data.get("choices") or []) > MAX_AUTOCOMPLETE_CHOICES
        ):
            raise _form_error("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer.")
        interaction.acknowledged = True
        if callback_type in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE) and message is not None:
            interaction.original = message
            self._interaction_messages[int(message["id"])] = message
        self._record_response(request, interaction, "callback", callback_type, data)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        flags = int(message["flags"]) if message is not None else 0
        summary: JsonDict = {
            "id": str(interaction.id),
            "type": interaction.payload["type"],
            "response_message_loading": callback_type == DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": bool(flags & MESSAGE_FLAG_EPHEMERAL),
        }
        resource: JsonDict = {"type": callback_type}
        if message is not None:
            summary["response_message_id"] = message["id"]
            if callback_type in (CHANNEL_MESSAGE, UPDATE_MESSAGE):
                resource["message"] = message
        return _json_response({"interaction": summary, "resource": resource})

    def _webhook_message(
        self, interaction: SentInteraction, message_id: str
    ) -> JsonDict | DiscordMessage:
        if message_id == "@original":
            if interaction.id in self._updating_interactions:
                # Answered with type 6/7: @original is the message the clicked button is on.
                source = self._component_sources[interaction.id]
                if not self._is_live(source):
                    raise DiscordApiError(404, 10008, "Unknown Message")
                return source
            if interaction.original is None:
                raise DiscordApiError(404, 10008, "Unknown Message")
            return interaction.original
        for followup in interaction.followups:
            if followup["id"] == message_id:
                return followup
        raise DiscordApiError(404, 10008, "Unknown Message")

    def _is_live(self, message: JsonDict | DiscordMessage) -> bool:
        if isinstance(message, DiscordMessage):
            return not message.deleted
        return any(
            message is stored
            for interaction in self.interactions.values()
            for stored in [interaction.original, *interaction.followups]
        )

    def _bot_message_json(self, message: JsonDict | DiscordMessage) -> JsonDict:
        if isinstance(message, DiscordMessage):
            return self._stored_message_json(message)
        return message

    @staticmethod
    def _apply_edit(message: JsonDict | DiscordMessage, payload: JsonDict) -> None:
        """An edit (PATCH, or callback type 7): the fields present replace the old ones."""
        now = time.time()
        if isinstance(message, DiscordMessage):
            if "content" in payload:
                message.content = payload["content"] or ""
            for key in ("embeds", "components", "attachments"):
                if key in payload:
                    setattr(message, key, list(payload[key] or []))
            message.edited_timestamp = now
            return
        for key in ("content", "embeds", "components", "attachments"):
            if key in payload:
                message[key] = (
                    payload[key] if payload[key] is not None else ("" if key == "content" else [])
                )
        message["flags"] = int(message["flags"]) & ~MESSAGE_FLAG_LOADING
        message["edited_timestamp"] = _iso(now)

    def _delete_bot_message(self, message: JsonDict | DiscordMessage) -> None:
        if isinstance(message, DiscordMessage):
            message.deleted = True
            return
        for interaction in self.interactions.values():
            if interaction.original is message:
                interaction.original = None
            if any(followup is message for followup in interaction.followups):
                interaction.followups = [f for f in interaction.followups if f is not message]

    async def _create_followup(self, request: web.Request) -> web.Response:
        interaction = self._interaction_for(request)
        if not interaction.acknowledged:
            raise DiscordApiError(404, 10015, "Unknown Webhook")
        payload = await self._read_payload(request)
        self._validate_message(payload)
        message = self._message_json(
            self._snowflake(),
            interaction.channel_id,
            payload,
            timestamp=time.time(),
            flags=int(payload.get("flags") or 0),
            webhook=True,
        )
        interaction.followups.append(message)
        self._record_response(request, interaction, "followup", None, payload)
        if request.query.get("wait") in ("1", "true", "True"):
            return _json_response(message)
        return web.Response(status=204)

    async def _get_webhook_msg(self, request: web.Request) -> web.Response:
        interaction = self._interaction_for(request)
        message = self._webhook_message(interaction, request.match_info["message_id"])
        return _json_response(self._bot_message_json(message))

    async def _edit_webhook_msg(self, request: web.Request) -> web.Response:
        interaction = self._interaction_for(request)
        message_id = request.match_info["message_id"]
        message = self._webhook_message(interaction, message_id)
        payload = await self._read_payload(request)
        self._validate_message(payload, allow_empty=True)
        self._apply_edit(message, payload)
        kind = "edit_original" if message_id == "@original" else "edit_followup"
        self._record_response(request, interaction, kind, None, payload)
        return _json_response(self._bot_message_json(message))

    async def _del_webhook_msg(self, request: web.Request) -> web.Response:
        interaction = self._interaction_for(request)
        message_id = request.match_info["message_id"]
        self._delete_bot_message(self._webhook_message(interaction, message_id))
        kind = "delete_original" if message_id == "@original" else "delete_followup"
        self._record_response(request, interaction, kind, None, {})
        return web.Response(status=204)

    async def _create_dm(self, request: web.Request) -> web.Response:
        body = await request.json()
        user_id = int(body["recipient_id"])
        return _json_response(self._channel_json(self._dm_channel(user_id)))

    def _dm_channel(self, user_id: int) -> DiscordChannel:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            channel = DiscordChannel(
                id=self._snowflake(), guild_id=None, name="", type=CHANNEL_DM, recipient_id=user_id
            )
            self._dm_channels[user_id] = channel
            self._channel_index[channel.id] = channel
        return channel

    async def _get_channel(self, request: web.Request) -> web.Response:
        return _json_response(self._channel_json(self._channel_for_request(request)))

    async def _create_message(self, request: web.Request) -> web.Response:
        channel = self._channel_for_request(request)
        if channel.recipient_id is not None and channel.recipient_id in self._blocked_dm_users:
            raise DiscordApiError(403, 50007, "Cannot send messages to this user")
        now = time.monotonic()
        window = self._channel_window(channel.id)
        if window is not None:
            wait = window.wait_needed(now)
            if wait > 0:
                self.rate_limited += 1
                headers = self._bucket_headers(window, now)
                headers.update({"Retry-After": str(math.ceil(wait)), "X-RateLimit-Scope": "user"})
                raise DiscordApiError(
                    429,
                    0,
                    _RATE_LIMIT_BODY,
                    body={
                        "message": _RATE_LIMIT_BODY,
                        "retry_after": ceil_ms(wait),
                        "global": False,
                    },
                    headers=headers,
                )
            window.admit(now)
        headers = self._bucket_headers(window, now) if window is not None else {}
        payload = await self._read_payload(request)
        self._validate_message(payload)
        if channel.attachments_denied and payload.get("attachments"):
            raise DiscordApiError(403, 50013, "Missing Permissions")
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            self._forget_old_nonces(now)
            remembered = self._nonces.get(str(nonce))
            if remembered is not None:
                # Discord returns the message created with this nonce and stores nothing new
                # (by the same user, in any channel: a reused nonce returns the old message).
                self.deduplicated += 1
                existing = remembered[1]
                return _json_response(self._stored_message_json(existing), headers=headers)
        message = DiscordMessage(
            id=self._snowflake(),
            channel_id=channel.id,
            content=payload.get("content") or "",
            embeds=list(payload.get("embeds") or []),
            nonce=nonce,
            timestamp=time.time(),
            attachments=list(payload.get("attachments") or []),
            components=list(payload.get("components") or []),
            flags=int(payload.get("flags") or 0),
            ambiguous=request.get(_AMBIGUOUS, False),
            payload=payload,
        )
        self.messages.append(message)
        if nonce is not None and payload.get("enforce_nonce"):
            self._nonces[str(nonce)] = (now, message)
        return _json_response(self._stored_message_json(message), headers=headers)

    def _forget_old_nonces(self, now: float) -> None:
        horizon = now - self.nonce_memory_s * self.time_scale
        for nonce in [n for n, (seen, _) in self._nonces.items() if seen < horizon]:
            del self._nonces[nonce]

    def _stored_message_json(self, message: DiscordMessage) -> JsonDict:
        data = self._message_json(
            message.id,
            message.channel_id,
            {
                **message.payload,
                "content": message.content,
                "embeds": message.embeds,
                "components": message.components,
                "attachments": message.attachments,
            },
            timestamp=message.timestamp,
            flags=message.flags,
        )
        if message.edited_timestamp is not None:
            data["edited_timestamp"] = _iso(message.edited_timestamp)
        return data

    def _stored_message(self, request: web.Request) -> DiscordMessage:
        channel = self._channel_for_request(request)
        message_id = int(request.match_info["message_id"])
        for message in self.messages:
            if (
                message.id == message_id
                and message.channel_id == channel.id
                and not message.deleted
            ):
                return message
        raise DiscordApiError(404, 10008, "Unknown Message")

    async def _get_message(self, request: web.Request) -> web.Response:
        return _json_response(self._stored_message_json(self._stored_message(request)))

    async def _edit_message(self, request: web.Request) -> web.Response:
        message = self._stored_message(request)
        payload = await self._read_payload(request)
        self._validate_message(payload, allow_empty=True)
        self._apply_edit(message, payload)
        self.message_edits.append((message.id, payload))
        return _json_response(self._stored_message_json(message))

    async def _delete_message(self, request: web.Request) -> web.Response:
        self._stored_message(request).deleted = True
        return web.Response(status=204)

    def _guild_for_request(self, request: web.Request) -> DiscordGuild:
        guild = self.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise DiscordApiError(404, 10004, "Unknown Guild")
        return guild

    async def _get_guild(self, request: web.Request) -> web.Response:
        return _json_response(self._guild_json(self._guild_for_request(request)))

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        guild = self._guild_for_request(request)
        return _json_response(
            [self._channel_json(c) for c in guild.channels.values() if not c.deleted]
        )

    async def _get_guild_roles(self, request: web.Request) -> web.Response:
        guild = self._guild_for_request(request)
        return _json_response([r.as_json(self.bot_id) for r in guild.roles.values()])

    async def _get_member(self, request: web.Request) -> web.Response:
        guild = self._guild_for_request(request)
        member = guild.members.get(int(request.match_info["user_id"]))
        if member is None:
            raise DiscordApiError(404, 10007, "Unknown Member")
        return _json_response(self._member_json(member))


@asynccontextmanager
async def run_client(
    client: discord.Client,
    token: str = FakeDiscord.DEFAULT_TOKEN,
    *,
    ready_timeout: float = 5.0,
    reconnect: bool = True,
) -> AsyncIterator[discord.Client]:
    """Log ``client`` in, connect it to the (patched) gateway, wait for on_ready, and close it
    on exit. Build the client with ``guild_ready_timeout=0.1``: discord.py otherwise waits 2 s
    after the last GUILD_CREATE before it is ready. (An AutoShardedClient also sleeps 5 s
    before identifying each shard after the first: give it one shard id per client.)"""
    await client.login(token)
    connection = asyncio.create_task(client.connect(reconnect=reconnect))
    try:
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {connection, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if connection in done:
                connection.result()  # re-raises why the connection ended
            raise TimeoutError(f"discord.py client not ready after {ready_timeout}s")
        yield client
    finally:
        await client.close()
        # A plain Client's connect() returns right after close(); an AutoShardedClient still
        # launching shards would retry forever, so bound the wait and cancel.
        await asyncio.wait({connection}, timeout=5.0)
        connection.cancel()
        with suppress(asyncio.CancelledError):
            await connection
