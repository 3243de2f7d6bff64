"""Security headers on every answer, and per-caller rate limits on ingest views.

Rate limits are per caller and view: the hash of the key a client presents (X-API-Key, X-INGEST-KEY or
a bearer token), else its address. Counters are fixed windows in Redis, kept by the `limits` library
(one Redis call per request); when Redis is unreachable requests go through (ingest must not depend on
Redis), and for REDIS_RETRY_PAUSE_SECONDS after a failure they do not even try (a Redis that does not
answer would otherwise cost every request a timeout). A refused request gets 429 with Retry-After (the
limit's window) in its domain's envelope; accepted requests carry no X-RateLimit headers, which would
cost a Redis read each. (Flask-Limiter, which wraps the same library, spent about 0.3 ms more per request
on its generic machinery.)
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from modules.core.queue import pause_redis, redis_paused, redis_url

KEY_HEADERS = ("X-API-Key", "X-INGEST-KEY", "Authorization")
DOC_PATHS = ("/docs", "/redoc")
API_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
            "img-src 'self' data: https://cdn.jsdelivr.net; font-src https://fonts.gstatic.com; "
            "worker-src blob:; frame-ancestors 'none'")


log = logging.getLogger(__name__)
LIMITER = "rate limits"  # its own pause after a Redis failure (queue.redis_paused): enqueueing keeps trying


def caller_identity() -> str:
    for header in KEY_HEADERS:
        value = request.headers.get(header)
        if value:
            return "key:" + hashlib.sha256(value.encode()).hexdigest()[:32]
    return "addr:" + (request.remote_addr or "unknown")


def ingest_limit(setting: str = "INGEST_RATE_LIMIT") -> Callable[[Callable], Callable]:
    """Decorator for an ingest view: at most the limit in `setting` (read at request time, e.g.
    "6000/minute") per caller, counted per view."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            _count_request(setting)
            return view(*args, **kwargs)

        return limited

    return decorator


@functools.lru_cache(maxsize=32)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    """"6000/minute", or several at once: "100/second;6000/minute"."""
    return tuple(parse_many(limits))


def _count_request(setting: str) -> None:
    limiter: FixedWindowRateLimiter | None = current_app.extensions.get("hub_rate_limiter")
    if limiter is None or redis_paused(LIMITER):
        return
    for limit in _parsed(current_app.config[setting]):
        try:
            allowed = limiter.hit(limit, request.endpoint or request.path, caller_identity())
        except StorageError as exc:
            pause_redis(LIMITER)
            log.warning("rate limit counters unavailable, requests let through for a while",
                        extra={"error": type(exc.storage_error).__name__})
            return
        if not allowed:
            raise TooManyRequests(str(limit), retry_after=limit.get_expiry())


def _add_headers(response):
    for name, value in API_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy",
                                DOCS_CSP if request.path.startswith(DOC_PATHS) else API_CSP)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def limiter_storage_uri(url: str) -> str:
    """The `limits` library names a Redis unix socket `redis+unix://`."""
    return "redis+unix://" + url[len("unix://"):] if url.startswith("unix://") else url


def init_app(app: Flask) -> None:
    if app.config.get("TRUST_PROXY_HEADERS"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    if app.config.get("RATE_LIMITS_ENABLED", True):
        storage = storage_from_string(limiter_storage_uri(redis_url(app)), wrap_exceptions=True,
                                      socket_connect_timeout=1, socket_timeout=2)
        app.extensions["hub_rate_limiter"] = FixedWindowRateLimiter(storage)
    app.after_request(_add_headers)
