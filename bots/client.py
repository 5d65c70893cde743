"""One async HTTP client of the core service, shared by both bots.

The bots are thin adapters: every suggestion is a `POST {TAGSMITH_URL}/v1/suggest`, every guild
setting a `GET/PUT /v1/communities/{id}/settings`. Transient failures (connection refused,
timeouts, 502/503/504) are retried with exponential backoff; when they persist the caller gets
`CoreUnavailable` and tells the person to try again, instead of crashing.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

RETRY_STATUSES = {502, 503, 504}


class CoreError(Exception):
    """The core answered with an error ({"error": {"code", "message"}})."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class CoreUnavailable(CoreError):
    """The core could not be reached (or kept failing) after every retry."""


class ImagesNotSupported(CoreError):
    """The core answered 501 to an image: image tagging is not deployed (yet)."""


@dataclass
class CoreConfig:
    url: str = "http://127.0.0.1:8080"
    api_key: str | None = None
    timeout_s: float = 20.0  # per attempt
    retries: int = 3  # attempts after the first
    backoff_s: float = 0.5  # first wait; doubles each retry
    settings_ttl_s: float = 60.0  # how long community settings are cached

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "CoreConfig":
        env = os.environ if env is None else env
        return cls(
            url=env.get("TAGSMITH_URL", cls.url).rstrip("/"),
            api_key=env.get("TAGSMITH_API_KEY") or None,
            timeout_s=float(env.get("TAGSMITH_TIMEOUT", cls.timeout_s)),
            retries=int(env.get("TAGSMITH_RETRIES", cls.retries)),
        )


@dataclass
class Suggestion:
    tag: str  # "#AusOpen"
    words: str = ""  # "aus open"
    score: float = 0.0
    source: str = ""


@dataclass
class SuggestResult:
    suggestions: list[Suggestion]
    model: str = ""
    took_ms: float = 0.0


@dataclass
class CommunitySettings:
    blocked_tags: list[str] = field(default_factory=list)
    max_count: int | None = None
    lang: str | None = None  # "en", "zh" or None (detected per post)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "CommunitySettings":
        return cls(
            blocked_tags=list(data.get("blocked_tags") or []),
            max_count=data.get("max_count"),
            lang=data.get("lang"),
        )

    def to_json(self) -> dict[str, Any]:
        return {"blocked_tags": self.blocked_tags, "max_count": self.max_count, "lang": self.lang}


class CoreClient:
    """Async client of the core service; create once per bot, `await close()` on shutdown."""

    def __init__(self, config: CoreConfig | None = None):
        self.config = config or CoreConfig.from_env()
        self._session: aiohttp.ClientSession | None = None
        self._settings_cache: dict[str, tuple[float, CommunitySettings]] = {}

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.api_key}"} if self.config.api_key else {}

    async def _request(self, method: str, path: str, payload: dict | None = None) -> dict[str, Any]:
        if self._session is None:  # created lazily: it needs the running loop
            self._session = aiohttp.ClientSession(headers=self._headers())
        url = self.config.url + path
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        last = "no attempt"
        for attempt in range(self.config.retries + 1):
            if attempt:
                await asyncio.sleep(self.config.backoff_s * 2 ** (attempt - 1))
            try:
                async with self._session.request(method, url, json=payload, timeout=timeout) as resp:
                    if resp.status in RETRY_STATUSES:
                        last = f"HTTP {resp.status}"
                        continue
                    try:
                        data = await resp.json(content_type=None)
                    except ValueError:
                        data = None
                    if resp.status >= 400 or not isinstance(data, dict):
                        err = (data or {}).get("error", {}) if isinstance(data, dict) else {}
                        cls = ImagesNotSupported if resp.status == 501 else CoreError
                        raise cls(resp.status, err.get("code", "error"), err.get("message", f"HTTP {resp.status}"))
                    return data
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
                last = type(exc).__name__
            log.warning("core %s %s failed (attempt %d/%d): %s", method, path, attempt + 1, self.config.retries + 1, last)
        raise CoreUnavailable(503, "unavailable", f"core unreachable after {self.config.retries + 1} attempts ({last})")

    async def suggest(
        self,
        text: str,
        thread: list[str] | tuple[str, ...] = (),
        hashtags: list[str] | tuple[str, ...] = (),
        image: bytes | None = None,
        k: int = 10,
        lang: str | None = None,
    ) -> SuggestResult:
        payload: dict[str, Any] = {"text": text, "thread": list(thread), "hashtags": list(hashtags), "k": max(1, min(20, k))}
        if image is not None:
            payload["image"] = base64.b64encode(image).decode("ascii")
        if lang:
            payload["lang"] = lang
        data = await self._request("POST", "/v1/suggest", payload)
        suggestions = [
            Suggestion(tag=s.get("tag", ""), words=s.get("words", ""), score=float(s.get("score", 0.0)), source=s.get("source", ""))
            for s in data.get("suggestions", [])
            if isinstance(s, dict)
        ]
        return SuggestResult(suggestions, model=data.get("model", ""), took_ms=float(data.get("took_ms", 0.0)))

    async def get_settings(self, community_id: str) -> CommunitySettings:
        """The community's settings; defaults when the extension API has none (or is not deployed)."""
        cached = self._settings_cache.get(community_id)
        if cached and time.monotonic() - cached[0] < self.config.settings_ttl_s:
            return cached[1]
        try:
            data = await self._request("GET", f"/v1/communities/{quote(community_id, safe='')}/settings")
            settings = CommunitySettings.from_json(data)
        except CoreError as exc:
            if isinstance(exc, CoreUnavailable):
                raise
            settings = CommunitySettings()  # 404: nothing stored yet
        self._settings_cache[community_id] = (time.monotonic(), settings)
        return settings

    async def put_settings(self, community_id: str, settings: CommunitySettings) -> CommunitySettings:
        data = await self._request("PUT", f"/v1/communities/{quote(community_id, safe='')}/settings", settings.to_json())
        stored = CommunitySettings.from_json(data) if data else settings
        self._settings_cache[community_id] = (time.monotonic(), stored)
        return stored
