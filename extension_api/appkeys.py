"""The extension API's own `web.AppKey`s (the core's are in inference/server/appkeys.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from extension_api.setup import ExtensionConfig
    from extension_api.trending import TrendingBoost, TrendingCache

EXT_CONFIG: web.AppKey["ExtensionConfig"] = web.AppKey("ext_config")
# Trending tags for /v1/suggest: a postprocessor calls `app[TRENDING].rerank(...)` (bounded boost).
TRENDING: web.AppKey["TrendingBoost"] = web.AppKey("trending")
# /v1/trending answers, shared for a few seconds per (window, lang): a client asking back to back costs one read
TRENDING_CACHE: web.AppKey["TrendingCache"] = web.AppKey("trending_cache")
