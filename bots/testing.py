"""A fake core service with the core's HTTP contract, on 127.0.0.1, and a log recorder.

Used by the bots' tests (so they never need a model) and handy to try a bot without one:
`python -m bots.testing --port 8080`. `capture_logs` records every log record while a bot test
runs, so the test can prove no line carried a token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bots.logsafe import RedactSecrets

DEFAULT_SUGGESTIONS = [
    {"tag": "#AusOpen", "words": "aus open", "score": 0.82, "source": "generator"},
    {"tag": "#Tennis", "words": "tennis", "score": 0.61, "source": "generator"},
    {"tag": "#ausopen", "words": "aus open", "score": 0.40, "source": "retrieval"},  # duplicate
    {"tag": "#FinalSet.", "words": "final set", "score": 0.33, "source": "generator"},  # trailing junk
    {"tag": "", "words": "night session", "score": 0.20, "source": "generator"},  # words only
]


@dataclass
class FakeCore:
    """Behaviour knobs the tests turn; `requests` records every /v1/suggest body."""

    api_key: str | None = None
    delay_s: float = 0.0  # answer this late ("core slow")
    fail_times: int = 0  # answer 503 this many times first ("core restarting")
    retry_after: str | None = None  # the Retry-After header of those 503s
    refuse: tuple[int, str, str] | None = None  # always answer this error (status, code, message)
    images_supported: bool = False  # False: an image without text answers 501, as the core does today
    suggestions: list[dict[str, Any]] = field(default_factory=lambda: list(DEFAULT_SUGGESTIONS))
    requests: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _error(self, status: int, code: str, message: str) -> web.Response:
        return web.json_response({"error": {"code": code, "message": message}}, status=status)

    def _authorized(self, request: web.Request) -> bool:
        return self.api_key is None or request.headers.get("Authorization") == f"Bearer {self.api_key}"

    async def suggest(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(401, "unauthorized", "missing or wrong API key")
        body = await request.json()
        self.requests.append(body)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_times > 0:
            self.fail_times -= 1
            response = self._error(503, "unavailable", "model loading")
            if self.retry_after is not None:
                response.headers["Retry-After"] = self.retry_after
            return response
        if self.refuse is not None:
            return self._error(*self.refuse)
        if not isinstance(body.get("k", 10), int) or not 1 <= body.get("k", 10) <= 20:
            return self._error(400, "bad_k", "k must be an integer from 1 to 20")
        text = (body.get("text") or "").strip()
        if body.get("image") and not text and not self.images_supported:
            return self._error(501, "images_not_supported", "image tagging is not available yet")
        if not text and not body.get("image"):
            return self._error(400, "empty_post", "text is empty")
        return web.json_response({"suggestions": self.suggestions[: body.get("k", 10)], "model": "fake@0", "took_ms": 1.0})

    async def get_settings(self, request: web.Request) -> web.Response:
        community = request.match_info["community"]
        if community not in self.settings:
            return self._error(404, "not_found", "no settings stored for this community")
        return web.json_response(self.settings[community])

    async def put_settings(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(401, "unauthorized", "missing or wrong API key")
        body = await request.json()
        self.settings[request.match_info["community"]] = body
        return web.json_response(body)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/suggest", self.suggest)
        app.router.add_get("/v1/communities/{community}/settings", self.get_settings)
        app.router.add_put("/v1/communities/{community}/settings", self.put_settings)
        return app


class LogRecorder(logging.Handler):
    """Every record reaching the root logger, written twice: as the bots' own code logged it
    (`own`, records of `bots.*` loggers, which must be clean by themselves) and as production
    logging writes it, through the redacting filter `logsafe.install` puts on root handlers (`lines`)."""

    def __init__(self, secrets: list[str]):
        super().__init__(level=logging.DEBUG)
        self.redact = RedactSecrets(secrets)
        self.own: list[str] = []
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def handle(self, record: logging.LogRecord) -> bool:
        text = self.format(record)
        if record.name.startswith("bots."):
            self.own.append(text)
        self.redact.filter(record)  # it redacts the traceback format() cached on the record too
        self.lines.append(self.format(record))
        return True

    def emit(self, record: logging.LogRecord) -> None:  # handle() does the work
        pass

    def leaks(self, secret: str) -> list[str]:
        """The recorded lines containing `secret` in any case, raw or percent-encoded (once or
        twice), or the secret half of a `<bot id>:<secret>` token alone."""
        once = quote(secret, safe="")
        spellings = {secret, once, quote(once, safe=""), secret.partition(":")[2] or secret}
        return [line for line in self.own + self.lines if any(s.casefold() in line.casefold() for s in spellings)]


@contextlib.contextmanager
def capture_logs(secrets: list[str]) -> Iterator[LogRecorder]:
    """Record every log record (DEBUG and up, every logger) while the block runs."""
    root = logging.getLogger()
    recorder, level = LogRecorder(secrets), root.level
    root.addHandler(recorder)
    root.setLevel(logging.DEBUG)
    try:
        yield recorder
    finally:
        root.removeHandler(recorder)
        root.setLevel(level)


def main() -> None:
    parser = argparse.ArgumentParser(description="fake tagsmith core (fixed suggestions) for trying the bots")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(FakeCore().app(), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
