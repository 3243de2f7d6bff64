"""Security headers on every answer, and the identity rate limits are counted against.

Rate limits are per caller: the hash of the key a client presents (X-API-Key, X-INGEST-KEY or a
bearer token), else its address. Counters live in Redis; when Redis is unreachable the limiter lets
requests through (ingest must not depend on Redis). A refused request gets 429 with Retry-After (the
limit's window) in its domain's envelope; accepted requests carry no X-RateLimit headers, which would
cost a Redis read each.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, request
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

from modules.core.extensions import limiter

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


def caller_identity() -> str:
    for header in KEY_HEADERS:
        value = request.headers.get(header)
        if value:
            return "key:" + hashlib.sha256(value.encode()).hexdigest()[:32]
    return "addr:" + (get_remote_address() or "unknown")


def ingest_limit(setting: str = "INGEST_RATE_LIMIT"):
    """Decorator for an ingest view: the limit is read from `setting` at request time."""
    return limiter.limit(lambda: current_app.config[setting], key_func=caller_identity)


def _add_headers(response):
    for name, value in API_HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers.setdefault("Content-Security-Policy",
                                DOCS_CSP if request.path.startswith(DOC_PATHS) else API_CSP)
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def limiter_storage_uri(redis_url: str) -> str:
    """The `limits` library names a Redis unix socket `redis+unix://`."""
    return "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url


def init_app(app: Flask) -> None:
    from modules.core.queue import redis_url

    if app.config.get("TRUST_PROXY_HEADERS"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.config.update(
        RATELIMIT_STORAGE_URI=limiter_storage_uri(redis_url(app)),
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 2},
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_HEADERS_ENABLED=False,
        RATELIMIT_ENABLED=app.config.get("RATE_LIMITS_ENABLED", True),
    )
    limiter.init_app(app)
    app.after_request(_add_headers)
