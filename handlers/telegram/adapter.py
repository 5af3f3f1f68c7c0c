"""The Telegram adapter (python-telegram-bot 22): commands in, replies out.

It runs PTB's manual lifecycle (initialize → updater.start_polling → start … stop → shutdown)
instead of `run_polling()`, which would own the event loop that discord.py and the scheduler share;
in webhook mode (`[telegram] webhook_url`) a server of ours (handlers.telegram.webhook) takes the
Updater's place and feeds the same update queue.
Translating is all it does: every command runs in bot.commands.CommandService and its reply goes
out through handlers.telegram.replies; alerts go out through its `notifier`
(handlers.telegram.notifier); a chat that is gone or moved goes to the delivery lifecycle
(bot.delivery.lifecycle), as when the sender notices it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any

from telegram import BotCommand, Chat, ChatMember, Message, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.commands import BUTTON_PREFIX, COMMANDS, Caller, CommandService, decode_button
from bot.delivery.lifecycle import DestinationLifecycle
from bot.i18n import ENGLISH, LANGUAGES, N_, Translator, language_from_platform, translator
from bot.metrics import NO_METRICS, Metrics
from bot.subscriptions import Destination, Platform
from handlers.secrets import redact_in_logs
from handlers.telegram.notifier import (
    TELEGRAM_COMMAND_DESCRIPTION_MAX,
    TelegramNotifier,
    counted_request,
)
from handlers.telegram.replies import send_reply
from handlers.telegram.settings import TelegramSettings, telegram_settings
from handlers.telegram.webhook import WebhookServer

log = logging.getLogger(__name__)

# /start is what Telegram clients send first; it answers like /help and is not listed.
START_COMMAND = "start"

ADMIN_STATUSES = frozenset({ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR})
GONE_STATUSES = frozenset({ChatMemberStatus.BANNED, ChatMemberStatus.LEFT})

DefaultContext = ContextTypes.DEFAULT_TYPE

# The updates the handlers below use, asked for in both modes.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.CHANNEL_POST,
    Update.CALLBACK_QUERY,
    Update.MY_CHAT_MEMBER,
]


def bot_commands(tr: Translator = ENGLISH) -> list[BotCommand]:
    """set_my_commands, generated from the registry: the usage line tells the arguments."""
    commands = []
    for command in COMMANDS:
        arguments = " ".join(a.usage() for a in command.arguments)
        text = f"{tr.gettext(command.description)} {arguments}".strip()
        commands.append(BotCommand(command.name, text[:TELEGRAM_COMMAND_DESCRIPTION_MAX]))
    return commands


def destination_of(message: Message) -> Destination:
    thread = str(message.message_thread_id) if message.is_topic_message else None
    return Destination(Platform.TELEGRAM.value, str(message.chat.id), thread)


def _where(chat: Chat, message: Message) -> str:
    if chat.type == ChatType.PRIVATE:
        return N_("this private chat")
    if message.is_topic_message:
        return N_("this topic")
    if chat.type == ChatType.CHANNEL:
        return N_("this channel")
    return N_("this group")


class TelegramAdapter:
    platform = Platform.TELEGRAM.value
    fatal_errors: tuple[type[BaseException], ...] = (InvalidToken,)

    def __init__(
        self,
        service: CommandService,
        settings: TelegramSettings,
        lifecycle: DestinationLifecycle,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        self._service = service
        self._lifecycle = lifecycle
        self._settings = settings
        redact_in_logs(settings.token, "TELEGRAM_TOKEN")
        # PTB 22 warns on every time period read as an int (even inside RetryAfter); opting in to
        # timedelta values, its future default, keeps flood-control answers free of warnings.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        # Any: each builder call changes the builder's generic type; build() is what is typed.
        builder: Any = ApplicationBuilder().token(settings.token)
        if settings.base_url:
            builder = builder.base_url(settings.base_url)
        if settings.base_file_url:
            builder = builder.base_file_url(settings.base_file_url)
        builder = builder.request(counted_request(metrics, read_timeout=settings.read_timeout))
        if settings.rate_limiter:
            builder = builder.rate_limiter(AIORateLimiter(max_retries=settings.flood_retries))
        if settings.webhook is not None:
            builder = builder.updater(None)  # no getUpdates: it would fail while a webhook is set
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.webhook = (
            WebhookServer(settings.webhook, self.application) if settings.webhook else None
        )
        # Alerts and operator alerts share the application's Bot: one connection pool.
        self.notifier = TelegramNotifier(self.application.bot)
        self._register_handlers()
        self._running = False

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        app = self.application
        await app.initialize()  # getMe: a bad token fails here
        try:
            await self._set_commands()
            if self.webhook is not None:
                await self._start_webhook(self.webhook)
            else:
                await self._start_polling()
        except BaseException:
            await self._shutdown()
            raise
        self._running = True

    async def _start_polling(self) -> None:
        app = self.application
        assert app.updater is not None  # built in polling mode
        # It deletes a webhook left from webhook mode first (else getUpdates would fail).
        await app.updater.start_polling(
            timeout=int(self._settings.poll_timeout),
            allowed_updates=ALLOWED_UPDATES,
            error_callback=self._on_polling_error,
        )
        await app.start()
        log.info("telegram: polling as @%s", app.bot.username)

    async def _set_commands(self) -> None:
        """The command menu in every language: the default list (English) for any client, and
        one per other language for clients set to it (Telegram picks by the user's language)."""
        bot = self.application.bot
        await bot.set_my_commands(bot_commands())
        for language in LANGUAGES:
            if language != ENGLISH.language:
                await bot.set_my_commands(
                    bot_commands(translator(language)), language_code=language
                )

    async def _start_webhook(self, server: WebhookServer) -> None:
        """Listen, point Telegram at us (what it kept meanwhile, up to a day of updates, comes
        now and waits in the update queue), then run the handlers."""
        settings = self._settings.webhook
        assert settings is not None
        await server.start()
        await self.application.bot.set_webhook(
            settings.url, secret_token=settings.secret, allowed_updates=ALLOWED_UPDATES
        )
        await self.application.start()
        log.info("telegram: webhook %s as @%s", settings.url, self.application.bot.username)

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        app = self.application
        try:
            # The webhook stays set: Telegram keeps the updates for whichever gateway process
            # serves it next (another may be serving it now), and polling mode deletes it.
            if self.webhook is not None:
                await self.webhook.stop()
            if app.updater is not None and app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        if self.webhook is not None:
            await self.webhook.stop()
        with contextlib.suppress(RuntimeError):  # still running: stop() comes first
            await self.application.shutdown()

    async def run(self) -> None:
        """Serve until cancelled (the supervisor's contract)."""
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    @staticmethod
    def _on_polling_error(error: TelegramError) -> None:
        # PTB retries getUpdates itself; one line per failure is enough (no traceback spam).
        log.warning("telegram: polling error: %s", error)

    # -- inbound ---------------------------------------------------------------------------------

    def _register_handlers(self) -> None:
        app = self.application
        # New messages and channel posts; an edited command is not run a second time.
        where = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST
        names = [command.name for command in COMMANDS] + [START_COMMAND]
        app.add_handler(CommandHandler(names, self._on_command, filters=where))
        app.add_handler(CallbackQueryHandler(self._on_button, pattern=f"^{BUTTON_PREFIX}\\|"))
        app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self._on_migrate))
        app.add_handler(ChatMemberHandler(self._on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        app.add_error_handler(self._on_error)

    def caller_for(
        self, message: Message, user_id: int | None, language_code: str | None = None
    ) -> Caller:
        """Who runs a command where. A private chat that chose no language is answered in the
        user's (Telegram's language_code); a group in its own choice only."""
        chat = message.chat
        private = chat.type == ChatType.PRIVATE
        bot = self.application.bot

        async def check_admin() -> bool:
            if chat.type == ChatType.CHANNEL:
                return True  # only a channel's admins can post in it
            if message.sender_chat is not None and message.sender_chat.id == chat.id:
                return True  # an anonymous group admin posts as the group itself
            if user_id is None:
                return False
            member: ChatMember = await bot.get_chat_member(chat.id, user_id)
            return member.status in ADMIN_STATUSES

        return Caller(
            platform=self.platform,
            user_id=str(user_id if user_id is not None else chat.id),
            destination=destination_of(message),
            private=private,
            check_admin=check_admin,
            admin_rule=N_("Only administrators of this group can change its subscriptions."),
            where=_where(chat, message),
            language=language_from_platform(language_code) if private else "",
        )

    async def _on_command(self, update: Update, context: DefaultContext) -> None:
        message = update.effective_message
        if message is None or not message.text:
            return
        head, *rest = message.text.split(maxsplit=1)  # "/top10\nKR" is a command too
        name = head.lstrip("/").split("@", 1)[0].lower()
        if name == START_COMMAND:
            name = "help"
        user = update.effective_user
        caller = self.caller_for(
            message, user.id if user else None, user.language_code if user else None
        )
        reply = await self._service.execute_text(name, " ".join(rest), caller)
        await send_reply(message, reply)

    async def _on_button(self, update: Update, context: DefaultContext) -> None:
        query = update.callback_query
        if query is None:
            return
        decoded = decode_button(query.data or "")
        message = query.message
        if decoded is None or not isinstance(message, Message):
            tr = translator(language_from_platform(query.from_user.language_code) or "en")
            await query.answer(tr._("This button no longer works; type the command instead."))
            return
        name, arguments = decoded
        caller = self.caller_for(message, query.from_user.id, query.from_user.language_code)
        reply = await self._service.execute(name, arguments, caller)
        if not reply.ok:
            # Only the presser sees why (a pop-up), the group is not spammed.
            text = " ".join([reply.title, *reply.lines])
            await query.answer(text[:200], show_alert=True)
            return
        await query.answer(reply.title[:200])
        await send_reply(message, reply)

    async def _on_migrate(self, update: Update, context: DefaultContext) -> None:
        """A group became a supergroup: its subscriptions, settings and undelivered alerts
        follow it to the new chat id (both service messages arrive; the second finds nothing
        left to move)."""
        message = update.effective_message
        if message is None:
            return
        if message.migrate_to_chat_id is not None:
            old, new = message.chat.id, message.migrate_to_chat_id
        elif message.migrate_from_chat_id is not None:
            old, new = message.migrate_from_chat_id, message.chat.id
        else:
            return
        await self._lifecycle.moved(
            Destination(self.platform, str(old)), Destination(self.platform, str(new))
        )

    async def _on_membership(self, update: Update, context: DefaultContext) -> None:
        """Blocked, kicked or re-added: pause or resume the chat (subscriptions are kept)."""
        change = update.my_chat_member
        if change is None:
            return
        chat = change.chat
        status = change.new_chat_member.status
        if status in GONE_STATUSES:
            reason = (
                N_("blocked by the user")
                if chat.type == ChatType.PRIVATE
                else N_("bot removed from chat")
            )
            await self._lifecycle.gone(self.platform, str(chat.id), reason)
        else:
            await self._lifecycle.back(self.platform, str(chat.id))

    async def _on_error(self, update: object, context: DefaultContext) -> None:
        log.error("telegram: handler failed", exc_info=context.error)


__all__ = [
    "TelegramAdapter",
    "TelegramSettings",
    "bot_commands",
    "telegram_settings",
]
