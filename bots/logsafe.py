"""Logging that never shows a secret: a filter replacing tokens and keys by "***".

Libraries log URLs that contain the token (the Telegram Bot API puts it in the path, sometimes
percent-encoded: `bot123456%3ATOKEN`), python-telegram-bot lower-cases the text of a
`BadRequest`, and exceptions may carry headers. So the known secrets are matched in any case,
raw or percent-encoded (once or twice), the secret half of a Telegram token on its own too, and
anything shaped like a bot token (Telegram's `<digits>:<secret>`, Discord's three dotted parts)
is redacted even when nobody named it.
The filter rewrites every record before any handler formats it.
"""

from __future__ import annotations

import logging
import os
import re
from urllib.parse import quote

SECRET_ENV = ("DISCORD_TOKEN", "TELEGRAM_TOKEN", "TAGSMITH_API_KEY", "TELEGRAM_WEBHOOK_SECRET")
MIN_SECRET_CHARS = 6  # shorter values would redact ordinary words
REDACTED = "***"

# A Telegram bot token: the bot's numeric id, ':' (maybe percent-encoded), a 30+ character secret;
# a Discord bot token: base64 of the id, a 6-character timestamp, a 27+ character HMAC.
BOT_TOKEN_SHAPES = (r"\d{5,}(?::|%3A|%253A)[A-Za-z0-9_-]{30,}", r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,}")


def variants(secret: str) -> set[str]:
    """The spellings of a secret that may reach a log line: raw, percent-encoded, twice encoded."""
    once = quote(secret, safe="")
    found = {secret, once, quote(once, safe="")}
    head, colon, tail = secret.partition(":")
    if colon and head.isdigit() and len(tail) >= MIN_SECRET_CHARS:
        found.add(tail)  # the secret half of a Telegram token is the secret
    return {v for v in found if len(v) >= MIN_SECRET_CHARS}


def secret_pattern(secrets: list[str]) -> re.Pattern[str]:
    """One case-insensitive pattern matching every variant of every secret, and token shapes."""
    spellings = sorted({v for s in secrets if s and len(s) >= MIN_SECRET_CHARS for v in variants(s)}, key=len, reverse=True)
    return re.compile("|".join([*(re.escape(s) for s in spellings), *BOT_TOKEN_SHAPES]), re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """Replaces the given secrets (default: those in SECRET_ENV) and token shapes by "***"."""

    def __init__(self, secrets: list[str] | None = None):
        super().__init__()
        found = secrets if secrets is not None else [os.environ.get(name, "") for name in SECRET_ENV]
        self.secrets = sorted({s for s in found if s and len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True)
        self.pattern = secret_pattern(self.secrets)

    def redact(self, text: str) -> str:
        return self.pattern.sub(REDACTED, text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # arguments that do not fit the format: still never log a secret
            message = f"{record.msg} {record.args!r}"
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install(secrets: list[str] | None = None, level: int = logging.INFO) -> RedactSecrets:
    """Configure root logging once, with the redacting filter on every root handler."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    return redact
