"""Every `web.AppKey` of the core service, in one place.

aiohttp warns on string keys and type-checks AppKeys; keeping them together means one import and
no two modules picking the same name. An extension keeps its own keys in its own package.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable

from aiohttp import web

if TYPE_CHECKING:  # imported for the type names only: appkeys stays import-cheap
    from inference.runtime.suggester import Suggester, SuggestResult
    from inference.server.app import ServiceConfig
    from inference.server.batching import MicroBatcher
    from inference.server.gateway import GatewayConfig
    from inference.server.prometheus import ServiceMetrics
    from inference.server.ratelimit import TokenBucketLimiter
    from inference.server.store import Store

# -- core service (inference/server/app.py) ------------------------------------------------------
CONFIG: web.AppKey["ServiceConfig"] = web.AppKey("config")
EXECUTOR: web.AppKey[ThreadPoolExecutor] = web.AppKey("executor", ThreadPoolExecutor)
SUGGESTER: web.AppKey["Suggester"] = web.AppKey("suggester")
BATCHER: web.AppKey["MicroBatcher"] = web.AppKey("batcher")
METRICS: web.AppKey["ServiceMetrics"] = web.AppKey("metrics")
# Extra OpenAPI path items added by extensions: {"/path": {"get": {...}}}, merged into /openapi.json.
OPENAPI_PATHS: web.AppKey[dict[str, dict[str, Any]]] = web.AppKey("openapi_paths", dict)
# Applied in order to every /v1/suggest result before it is answered (an extension appends its own).
POSTPROCESSORS: web.AppKey[list[Callable[["SuggestResult"], "SuggestResult"]]] = web.AppKey("postprocessors", list)

# -- the gateway (inference/server/gateway.py) ---------------------------------------------------
GATEWAY: web.AppKey["GatewayConfig"] = web.AppKey("gateway")
STORE: web.AppKey["Store"] = web.AppKey("store")  # the SQLite file under the data dir
LIMITER: web.AppKey["TokenBucketLimiter"] = web.AppKey("limiter")
# Per request: the verified API key id (None for keyless local use).
API_KEY_ID: web.RequestKey[int | None] = web.RequestKey("api_key_id")
