"""One async HTTP client of the core service, shared by both bots.

The bots are thin adapters: every suggestion is a `POST {TAGSMITH_URL}/v1/suggest`, every guild
setting a `GET/PUT /v1/communities/{id}/settings`. Transient failures (connection refused,
timeouts, 502/503/504) are retried with exponential backoff, never sooner than a `Retry-After`
the core sent (one longer than `max_retry_after_s` is not waited for); when they persist the
caller gets `CoreUnavailable` and tells the person to try again, instead of crashing.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from bots import defaults

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
    url: str = defaults.CORE_URL
    api_key: str | None = None
    timeout_s: float = defaults.CORE_TIMEOUT_S  # per attempt
    retries: int = defaults.CORE_RETRIES  # attempts after the first
    backoff_s: float = defaults.CORE_BACKOFF_S  # first wait; doubles each retry
    max_retry_after_s: float = defaults.CORE_MAX_RETRY_AFTER_S  # a longer Retry-After: give up at once
    settings_ttl_s: float = defaults.SETTINGS_TTL_S  # how long community settings are cached

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


def retry_after_s(value: str | None) -> float:
    """A Retry-After header (seconds or an HTTP date) in seconds from now; 0.0 when absent or unreadable."""
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


async def _json_or_raise(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    """The body of a final answer; a CoreError when it is an error (or not a JSON object)."""
    try:
        data = await resp.json(content_type=None)
    except ValueError:
        data = None
    if resp.status >= 400 or not isinstance(data, dict):
        err = (data or {}).get("error", {}) if isinstance(data, dict) else {}
        err = err if isinstance(err, dict) else {}
        cls = ImagesNotSupported if resp.status == 501 else CoreError
        raise cls(resp.status, err.get("code", "error"), err.get("message", f"HTTP {resp.status}"))
    return data


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
        last, retry_after = "no attempt", 0.0
        for attempt in range(self.config.retries + 1):
            if attempt:  # never sooner than the core asked
                await asyncio.sleep(max(self.config.backoff_s * 2 ** (attempt - 1), retry_after))
            try:
                async with self._session.request(method, url, json=payload, timeout=timeout) as resp:
                    if resp.status not in RETRY_STATUSES:
                        return await _json_or_raise(resp)
                    last, retry_after = f"HTTP {resp.status}", retry_after_s(resp.headers.get("Retry-After"))
            except (aiohttp.ClientConnectionError, asyncio.TimeoutError) as exc:
                last, retry_after = type(exc).__name__, 0.0
            log.warning("core %s %s failed (attempt %d/%d): %s", method, path, attempt + 1, self.config.retries + 1, last)
            if retry_after > self.config.max_retry_after_s:
                last += f", Retry-After {retry_after:g} s is longer than the bots wait"
                break
        raise CoreUnavailable(503, "unavailable", f"core unavailable after {attempt + 1} attempts ({last})")

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
