"""A fake core service with the core's HTTP contract, on 127.0.0.1.

Used by the bots' tests (so they never need a model) and handy to try a bot without one:
`python -m bots.testing --port 8080`.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

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
            return self._error(503, "unavailable", "model loading")
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


def main() -> None:
    parser = argparse.ArgumentParser(description="fake tagsmith core (fixed suggestions) for trying the bots")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    web.run_app(FakeCore().app(), host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
