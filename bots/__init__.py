"""Discord and Telegram adapters: they call the core service over HTTP."""
