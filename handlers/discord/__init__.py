"""Discord: the adapter (slash commands in) and the notifier (everything out)."""
