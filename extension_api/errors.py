"""The extension API's domain errors; inference/server/errors.py's middleware turns them into JSON."""

from __future__ import annotations

import math

from inference.server.errors import ServiceError


class Unauthorized(ServiceError):
    status = 401
    code = "unauthorized"

    def __init__(self, message: str):
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="tagsmith"'})


class RateLimited(ServiceError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message, headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))})


class OriginNotAllowed(ServiceError):
    status = 403
    code = "origin_not_allowed"
