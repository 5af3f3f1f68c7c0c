"""Adapters that touch the world: chat platforms (input into core commands, core replies and
alerts rendered back), the HTTP client of the live sources, and the polling scheduler."""
