"""Telegram: the adapter (commands in) and the notifier (everything out)."""
