"""Security headers on every answer, and per-caller rate limits on ingest views.

Rate limits are per caller and view: the credential that authenticated (a hash of the matched key, or
the operator's id), else the address; refused credentials count per address. Counters are fixed windows
in Redis, kept by the `limits` library (one Redis call per request); when Redis is unreachable requests
go through (ingest must not depend on Redis), and for REDIS_RETRY_PAUSE_SECONDS after a failure they do
not even try (a Redis that does not answer would otherwise cost every request a timeout). A refused
request gets 429 with Retry-After (the limit's window) in its domain's envelope; accepted requests carry
no X-RateLimit headers, which would cost a Redis read each. (Flask-Limiter, which wraps the same
library, spent about 0.3 ms more per request on its generic machinery.)
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests
from werkzeug.middleware.proxy_fix import ProxyFix

from modules.core.extensions import cors
from modules.core.redis_client import pause_redis, redis_paused, redis_url

DOCS_PATH, REDOC_PATH = "/docs", "/redoc"
CONSOLE_PATH = "/console"
API_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'"
# /docs and /redoc (api_docs.py): scripts, styles, images and calls ("Try it out") from this origin only: no CDN,
# no inline script. Swagger UI's icons are data: URIs in its stylesheet.
DOCS_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
# ReDoc styles itself with styled-components, which writes <style> elements: it renders nothing without
# 'unsafe-inline' styles (scripts stay 'self' only); its icon font is a data: URI.
REDOC_CSP = DOCS_CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") + "; font-src data:"
# The console: our own scripts and styles only, from this origin; no inline script or style, no frames.
CONSOLE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
               "font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

log = logging.getLogger(__name__)
LIMITER = "rate limits"  # its own pause after a Redis failure (queue.redis_paused): enqueueing keeps trying
AUTH_FAILURES = "auth-failures"  # the bucket of refused credentials, per address


def caller_identity() -> str:
    """Whom a limit counts: the credential that authenticated this request (`g.credential`, set by
    `auth`: a hash of the matched key, or `operator:<id>`), else the client's address. What a client merely
    sends (an extra header, `bearer` in another case, a new token of the same operator) never makes a
    new bucket; so a limit must run after the view's auth guard."""
    return g.get("credential") or address_identity()


def ingest_limit(setting: str = "INGEST_RATE_LIMIT", public_key: bool = False) -> Callable[[Callable], Callable]:
    """Decorator for an ingest view, under its auth guard: at most the limit in `setting` (read at request
    time, e.g. "6000/minute") per caller, counted per view. `public_key`: the view's key is embedded in
    web pages (a marketing site's forms), so it proves nothing about who calls: each address then has a
    bucket of its own under the key, and one visitor cannot use up every other visitor's limit."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            charge(setting, identity=f"{caller_identity()}|{address_identity()}" if public_key else None)
            return view(*args, **kwargs)

        return limited

    return decorator


def address_identity() -> str:
    return "addr:" + (request.remote_addr or "unknown")


@functools.lru_cache(maxsize=32)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    """"6000/minute", or several at once: "100/second;6000/minute"."""
    return tuple(parse_many(limits))


def charge(setting: str, cost: int = 1, scope: str | None = None, identity: str | None = None) -> None:
    """Count `cost` units (requests, SMS recipients, partner calls) against every limit in `setting` for
    `identity` (the caller by default) in `scope` (the view by default). Raises TooManyRequests, with
    Retry-After, when one is exceeded: the domain's error handler words the 429. Fails open when Redis
    does not answer."""
    refused = count(setting, scope or request.endpoint or request.path, identity or caller_identity(), cost)
    if refused is not None:
        limit, retry_after = refused
        raise TooManyRequests(f"{limit} ({setting})", retry_after=retry_after)


def count(setting: str, scope: str, identity: str, cost: int = 1) -> tuple[RateLimitItem, int] | None:
    """`charge` without raising: the first limit exceeded and the seconds until its window ends, or None.
    A refused charge costs nothing, in any limit of the setting: one bulk SMS over the hour's limit must
    not use up the rest of the hour."""
    if cost <= 0:
        return None
    charged: list[RateLimitItem] = []

    def allows(limiter: FixedWindowRateLimiter, limit: RateLimitItem) -> bool:
        charged.append(limit)
        if limiter.hit(limit, scope, identity, cost=cost):
            return True
        for refunded in charged:
            limiter.storage.incr(refunded.key_for(scope, identity), refunded.get_expiry(), amount=-cost)
        return False

    return _ask(setting, allows, scope, identity)


def would_refuse(setting: str, scope: str, identity: str, cost: int = 1) -> tuple[RateLimitItem, int] | None:
    """What `count` would answer now, counting nothing: the first limit `cost` more units would exceed and the
    seconds until its window ends, or None (also when Redis does not answer). For a preview before a send."""
    if cost <= 0:
        return None
    return _ask(setting, lambda limiter, limit: limiter.test(limit, scope, identity, cost=cost), scope, identity)


def refund(setting: str, scope: str, identity: str, cost: int = 1) -> None:
    """Give back `cost` units charged with `count` (a sign-in that turned out right costs nothing)."""
    limiter: FixedWindowRateLimiter | None = current_app.extensions.get("hub_rate_limiter")
    if limiter is None or redis_paused(LIMITER):
        return
    try:
        for limit in _parsed(current_app.config[setting]):
            limiter.storage.incr(limit.key_for(scope, identity), limit.get_expiry(), amount=-cost)
    except StorageError as exc:
        pause_redis(LIMITER)
        log.warning("rate limit counters unavailable, requests let through for a while",
                    extra={"error": type(exc.storage_error).__name__})


def _ask(setting: str, allows: Callable[[FixedWindowRateLimiter, RateLimitItem], bool], scope: str,
         identity: str) -> tuple[RateLimitItem, int] | None:
    limiter: FixedWindowRateLimiter | None = current_app.extensions.get("hub_rate_limiter")
    if limiter is None or redis_paused(LIMITER):
        return None
    try:
        for limit in _parsed(current_app.config[setting]):
            if not allows(limiter, limit):
                reset_at, _ = limiter.get_window_stats(limit, scope, identity)
                return limit, max(1, math.ceil(reset_at - time.time()))
    except StorageError as exc:
        pause_redis(LIMITER)
        log.warning("rate limit counters unavailable, requests let through for a while",
                    extra={"error": type(exc.storage_error).__name__})
    return None


def count_refused_credential() -> None:
    """A credential was presented and refused: count it against the address (AUTH_FAILURE_RATE_LIMIT),
    since it proves no identity. Raises TooManyRequests over the limit. Every 401 is counted so; a view
    that still answers a wrong key (with less, as SentraTech's status) calls this itself."""
    charge("AUTH_FAILURE_RATE_LIMIT", scope=AUTH_FAILURES, identity=address_identity())


def _count_refused_credentials(response):
    """Every 401 counts against its address; over the limit, the 401 becomes a 429 in the same envelope
    (the refused credential never authenticates anyway)."""
    if response.status_code != 401:
        return response
    try:
        count_refused_credential()
    except TooManyRequests as refused:
        return current_app.handle_user_exception(refused)
    return response


HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
# Each answer's security headers, built once: (name, lowercased name, value).
_API_ANSWER = tuple((name, name.lower(), value) for name, value in [*API_HEADERS.items(),
                                                                    ("Content-Security-Policy", API_CSP)])
_DOCS_ANSWER = tuple((name, name.lower(), value) for name, value in [*API_HEADERS.items(),
                                                                     ("Content-Security-Policy", DOCS_CSP)])
_REDOC_ANSWER = tuple((name, name.lower(), value) for name, value in [*API_HEADERS.items(),
                                                                      ("Content-Security-Policy", REDOC_CSP)])
# The console's own pages may see their referrer (where to return after signing in): same origin only.
_CONSOLE_HEADERS = {**API_HEADERS, "Referrer-Policy": "same-origin", "Content-Security-Policy": CONSOLE_CSP}
_CONSOLE_ANSWER = tuple((name, name.lower(), value) for name, value in _CONSOLE_HEADERS.items())


def _add_headers(response):
    """The security headers a view did not set itself (one pass over the answer's headers)."""
    headers = response.headers
    present = {name for name, _ in headers.items(lower=True)}
    wanted = _answer_headers(request.path)
    headers.extend([(name, value) for name, lowered, value in wanted if lowered not in present])
    if request.is_secure and "strict-transport-security" not in present:
        headers.add(*HSTS)
    return response


def _answer_headers(path: str) -> tuple[tuple[str, str, str], ...]:
    if path.startswith(CONSOLE_PATH):
        return _CONSOLE_ANSWER
    if path.startswith(DOCS_PATH):
        return _DOCS_ANSWER
    return _REDOC_ANSWER if path.startswith(REDOC_PATH) else _API_ANSWER


LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


def cors_origins(config: dict[str, Any]) -> list[str]:
    """ALLOWED_ORIGINS, without loopback ones (`http://localhost:3000`, the front ends' development servers)
    in production: there, a page served from someone's own machine is not a site of ours."""
    origins = list(config["ALLOWED_ORIGINS"])
    if not config.get("IS_PRODUCTION"):
        return origins
    kept = [origin for origin in origins if urlsplit(origin).hostname not in LOOPBACK_HOSTS]
    if len(kept) < len(origins):
        log.warning("loopback origins are not allowed in production; left out of CORS",
                    extra={"left_out": len(origins) - len(kept)})
    return kept


def _answer_preflight():
    """A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) gets an empty 200, as
    Flask's own OPTIONS answer, on any path, before routing could answer it with a redirect
    (`/api/customers` -> `/api/customers/`), which browsers do not follow on a preflight. flask-cors adds
    the CORS headers when the Origin is allowed."""
    if request.method == "OPTIONS" and "Origin" in request.headers \
            and "Access-Control-Request-Method" in request.headers:
        return current_app.response_class(status=200)
    return None


def init_cors(app: Flask) -> None:
    """CORS headers only for requests whose Origin is allowed (none without an Origin)."""
    cors.init_app(app, origins=cors_origins(app.config), expose_headers=["X-Request-ID"], always_send=False)
    app.before_request(_answer_preflight)  # after request_log's start (registered earlier): the answer is logged


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
    app.after_request(_count_refused_credentials)  # runs first: after_request functions run in reverse
