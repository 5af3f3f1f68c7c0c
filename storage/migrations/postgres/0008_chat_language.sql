-- Languages (issue 20): the language a chat reads its replies and alerts in (bot.i18n), '' until
-- it chooses one with /settings language=… or subscribes from a platform that names one (a
-- Telegram user's language_code, a Discord server's preferred locale). '' reads as English, so
-- every existing chat keeps the text it had.
ALTER TABLE destinations ADD COLUMN language TEXT NOT NULL DEFAULT '';
