"""The Discord adapter (discord.py 2.7): slash commands in, embeds out.

The app commands are generated from bot.commands.COMMANDS (names, options, choices, autocomplete,
default permissions; handlers.discord.slash_commands), so Discord, Telegram and the console can
never drift apart; replies become embeds in handlers.discord.embeds. Translating is
all it does: every command runs in bot.commands.CommandService; alerts go out through its
`notifier` (handlers.discord.notifier); a deleted channel goes to the delivery lifecycle
(bot.delivery.lifecycle), as when the sender notices it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import warnings
from collections.abc import Mapping
from typing import Any, Self

with warnings.catch_warnings():
    # discord.py imports the stdlib `audioop` (voice, unused here), deprecated since 3.11.
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import discord
    from discord import app_commands

from bot.commands import (
    BUTTON_PREFIX,
    COMMANDS,
    Argument,
    Caller,
    Command,
    CommandService,
    Reply,
    decode_button,
)
from bot.delivery.lifecycle import DestinationLifecycle
from bot.i18n import DEFAULT_LANGUAGE, N_, language_from_platform, translator
from bot.metrics import NO_METRICS, Metrics
from bot.subscriptions import Destination, Platform
from handlers.discord.embeds import render_embed
from handlers.discord.notifier import DiscordNotifier, picture_file, rate_limit_trace
from handlers.discord.settings import DiscordSettings, discord_settings
from handlers.discord.slash_commands import (
    Autocomplete,
    CommandTranslator,
    Interaction,
    app_command,
)
from handlers.secrets import redact_in_logs

log = logging.getLogger(__name__)


class CommandButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=re.compile(re.escape(BUTTON_PREFIX) + r"\|.+"),
):
    """A reply button (Subscribe under /title). Dynamic: it keeps working after a restart."""

    def __init__(self, payload: str, label: str = "…") -> None:
        super().__init__(
            discord.ui.Button(label=label, custom_id=payload, style=discord.ButtonStyle.primary)
        )
        self.payload = payload

    @classmethod
    async def from_custom_id(
        cls,
        interaction: Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> Self:
        label = getattr(item, "label", None) or "…"
        return cls(match.string, label)

    async def callback(self, interaction: Interaction) -> None:
        client = interaction.client
        if isinstance(client, _Client | _ShardedClient):
            await client.adapter.on_button(interaction, self.payload)


def reply_view(reply: Reply) -> discord.ui.View | None:
    if not reply.buttons:
        return None
    view = discord.ui.View(timeout=None)
    for button in reply.buttons:
        view.add_item(CommandButton(button.payload(), button.label))
    return view


class _Client(discord.Client):
    adapter: DiscordAdapter

    async def setup_hook(self) -> None:
        await self.adapter.setup()


class _ShardedClient(discord.AutoShardedClient):
    adapter: DiscordAdapter

    async def setup_hook(self) -> None:
        await self.adapter.setup()


def _build_client(
    adapter: DiscordAdapter, settings: DiscordSettings, metrics: Metrics
) -> discord.Client:
    intents = discord.Intents.none()
    intents.guilds = True  # channel and thread deletions arrive as guild events
    options: dict[str, Any] = {
        "intents": intents,
        "guild_ready_timeout": settings.guild_ready_timeout,
        # Titles are user data: an "@everyone" in one must never ping a server.
        "allowed_mentions": discord.AllowedMentions.none(),
        "http_trace": rate_limit_trace(metrics),
    }
    sharding = settings.sharding
    client: _Client | _ShardedClient
    if sharding.sharded:
        client = _ShardedClient(**options, **sharding.client_options())
    else:
        client = _Client(**options)
    client.adapter = adapter
    return client


class DiscordAdapter:
    platform = Platform.DISCORD.value
    fatal_errors: tuple[type[BaseException], ...] = (
        discord.LoginFailure,
        discord.PrivilegedIntentsRequired,
    )

    def __init__(
        self,
        service: CommandService,
        settings: DiscordSettings,
        lifecycle: DestinationLifecycle,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._service = service
        self._lifecycle = lifecycle
        self._settings = settings
        redact_in_logs(settings.token, "DISCORD_TOKEN")
        self.client = _build_client(self, settings, metrics)
        # Alerts, operator alerts and owner DMs share the client: one gateway session.
        self.notifier = DiscordNotifier(self.client)
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(self.client)
        self._translator = CommandTranslator()
        for command in COMMANDS:
            self.tree.add_command(app_command(command, self.on_command, self._autocomplete))
        self.client.add_dynamic_items(CommandButton)
        self.client.event(self.on_guild_channel_delete)
        self.client.event(self.on_thread_delete)
        self.synced: list[app_commands.AppCommand] = []

    # -- lifecycle -------------------------------------------------------------------------------

    async def setup(self) -> None:
        """Runs once after login, before the gateway connects: register the commands (only
        the process running shard 0 does, so N gateway processes register them once)."""
        await self.tree.set_translator(self._translator)
        if not self._settings.sync_commands or not self._settings.sharding.runs_shard_zero:
            return
        if self._settings.guild_ids:
            for guild_id in self._settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                self.synced = await self.tree.sync(guild=guild)
        else:
            self.synced = await self.tree.sync()
        log.info("discord: %d commands registered", len(self.synced))

    async def run(self) -> None:
        """Serve until cancelled (the supervisor's contract). A bad token raises LoginFailure."""
        log.info("discord: connecting, %s", self._settings.sharding.describe())
        async with self.client:
            await self.client.start(self._settings.token, reconnect=True)

    async def wait_until_ready(self) -> None:
        await self.client.wait_until_ready()

    async def stop(self) -> None:
        await self.client.close()

    # -- commands --------------------------------------------------------------------------------

    def _autocomplete(self, argument: Argument) -> Autocomplete:
        async def autocomplete(
            interaction: Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            caller = self.caller_for(interaction)
            choices = await self._service.complete(argument.kind, current, caller)
            return [app_commands.Choice(name=c.label, value=c.value) for c in choices]

        return autocomplete

    def caller_for(self, interaction: Interaction) -> Caller:
        private = interaction.guild_id is None
        channel_id = interaction.channel_id or interaction.user.id
        permissions = interaction.permissions
        bot_permissions = interaction.app_permissions
        # In a thread the bot needs "Send Messages in Threads" rather than "Send Messages".
        in_thread = isinstance(interaction.channel, discord.Thread)
        can_post = (
            bot_permissions.send_messages_in_threads if in_thread else bot_permissions.send_messages
        )

        async def check_admin() -> bool:
            # Server-side check: default_permissions only hides the command, and server admins
            # can override it per channel or role.
            return permissions.manage_channels or permissions.administrator

        return Caller(
            platform=self.platform,
            user_id=str(interaction.user.id),
            destination=Destination(self.platform, str(channel_id)),
            private=private,
            check_admin=check_admin,
            admin_rule=N_(
                "You need the Manage Channels permission to change this channel's alerts."
            ),
            bot_can_post=private or can_post,
            where=N_("your DMs") if private else f"<#{channel_id}>",
            # A server speaks its preferred locale (every channel in it); a DM the user's.
            language=language_from_platform(
                interaction.locale.value if private else _guild_locale(interaction)
            ),
        )

    async def on_command(
        self,
        interaction: Interaction,
        command: Command,
        options: Mapping[str, Any],
    ) -> None:
        arguments = {name: str(value) for name, value in options.items() if value is not None}
        # Discord's 3 s acknowledgement limit: history reads may take longer, so those defer at
        # once; the others defer only when the store is slow (a big import holds its lock).
        if command.may_be_slow:
            await interaction.response.defer(thinking=True)
        await self._execute(interaction, command.name, arguments)

    async def on_button(self, interaction: Interaction, payload: str) -> None:
        decoded = decode_button(payload)
        if decoded is None:
            tr = translator(language_from_platform(interaction.locale.value) or DEFAULT_LANGUAGE)
            await interaction.response.send_message(
                tr._("This button no longer works; use the slash command."), ephemeral=True
            )
            return
        name, arguments = decoded
        # No defer up front: a defer fixes who sees the answer before it is known, and the
        # channel must see a confirmation while a refusal goes only to the presser (as on
        # Telegram). A button carries exact references (no fuzzy search), so it is quick.
        await self._execute(interaction, name, arguments)

    async def _execute(
        self, interaction: Interaction, name: str, arguments: Mapping[str, str]
    ) -> None:
        """Run the command and answer, deferring first if it is still running after
        `defer_after` (unless the interaction is already deferred)."""
        caller = self.caller_for(interaction)
        running = asyncio.ensure_future(self._service.execute(name, arguments, caller))
        if not interaction.response.is_done():
            done, _ = await asyncio.wait({running}, timeout=self._settings.defer_after)
            if not done:
                await interaction.response.defer(thinking=True)
        await self._respond(interaction, await running)

    async def _respond(self, interaction: Interaction, reply: Reply) -> None:
        embed = render_embed(reply)
        view = reply_view(reply)
        extra: dict[str, Any] = {"view": view} if view is not None else {}
        if reply.picture is not None:
            extra["file"] = picture_file(reply.picture)
        try:
            if interaction.response.is_done():
                await interaction.followup.send(embed=embed, **extra)
            else:
                # Errors only for the user who typed the command; answers for the channel.
                await interaction.response.send_message(
                    embed=embed, ephemeral=not reply.ok, **extra
                )
        except discord.HTTPException as exc:
            log.warning("discord: could not answer /%s: %s", interaction.command, exc)

    # -- gateway events --------------------------------------------------------------------------

    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        await self._channel_gone(channel.id, N_("channel deleted"))

    async def on_thread_delete(self, thread: discord.Thread) -> None:
        await self._channel_gone(thread.id, N_("thread deleted"))

    async def _channel_gone(self, channel_id: int, reason: str) -> None:
        await self._lifecycle.gone(self.platform, str(channel_id), reason)


def _guild_locale(interaction: Interaction) -> str | None:
    locale = interaction.guild_locale
    if locale is None and interaction.guild is not None:
        locale = interaction.guild.preferred_locale
    return locale.value if locale is not None else None


__all__ = [
    "CommandButton",
    "DiscordAdapter",
    "DiscordSettings",
    "discord_settings",
    "reply_view",
]
