"""The base of every error the service answers with a 4xx/5xx: a status and a stable code.

It imports nothing, so any layer may raise one (the runtime's image checks, the server's validation);
inference/server/errors.py's middleware turns them into `{"error": {"code", "message"}}` JSON.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A request the service refuses, with the HTTP status and a stable machine-readable code."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}
