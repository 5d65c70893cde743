"""Logging that never shows a secret: a filter replacing tokens and keys by "***".

Libraries log URLs that contain the token (the Telegram Bot API puts it in the path), and
exceptions may carry headers; the filter rewrites every record before any handler formats it.
"""

from __future__ import annotations

import logging
import os

SECRET_ENV = ("DISCORD_TOKEN", "TELEGRAM_TOKEN", "TAGSMITH_API_KEY", "TELEGRAM_WEBHOOK_SECRET")


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str] | None = None):
        super().__init__()
        found = secrets if secrets is not None else [os.environ.get(name, "") for name in SECRET_ENV]
        self.secrets = sorted({s for s in found if s and len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = self.redact(message), None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def install(secrets: list[str] | None = None, level: int = logging.INFO) -> RedactSecrets:
    """Configure root logging once, with the redacting filter on every root handler."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
    return redact
