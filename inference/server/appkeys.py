"""Every `web.AppKey` of the project, in one place.

aiohttp warns on string keys and type-checks AppKeys; keeping them together means one import and
no two modules picking the same name. Other parts (extension API, image tagger) add theirs here.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:  # imported for the type names only: appkeys stays import-cheap
    from inference.server.app import ServiceConfig
    from inference.server.batching import MicroBatcher
    from inference.server.prometheus import ServiceMetrics
    from inference.runtime.suggester import Suggester
    from inference.server.ratelimit import TokenBucketLimiter
    from extension_api.setup import ExtensionConfig
    from inference.server.store import Store
    from extension_api.trending import TrendingBoost

# -- core service (inference/server/app.py) -----------------------------------------------------------
CONFIG: web.AppKey["ServiceConfig"] = web.AppKey("config")
EXECUTOR: web.AppKey[ThreadPoolExecutor] = web.AppKey("executor", ThreadPoolExecutor)
SUGGESTER: web.AppKey["Suggester"] = web.AppKey("suggester")
BATCHER: web.AppKey["MicroBatcher"] = web.AppKey("batcher")
METRICS: web.AppKey["ServiceMetrics"] = web.AppKey("metrics")
# Extra OpenAPI path items added by extensions: {"/path": {"get": {...}}}, merged into /openapi.json.
OPENAPI_PATHS: web.AppKey[dict[str, dict[str, Any]]] = web.AppKey("openapi_paths", dict)

# -- extension API (extension_api/setup.py) ---------------------------------------------------------
EXT_CONFIG: web.AppKey["ExtensionConfig"] = web.AppKey("ext_config")
STORE: web.AppKey["Store"] = web.AppKey("store")  # the SQLite file under --data-dir
LIMITER: web.AppKey["TokenBucketLimiter"] = web.AppKey("limiter")
# Trending tags for /v1/suggest: `app[TRENDING].rerank(result.suggestions, result.lang)` (bounded boost).
TRENDING: web.AppKey["TrendingBoost"] = web.AppKey("trending")
# Per request: the verified API key id (None for keyless local use).
API_KEY_ID: web.RequestKey[int | None] = web.RequestKey("api_key_id")
