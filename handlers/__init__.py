"""Platform adapters: translate platform input into core commands and render core replies."""
