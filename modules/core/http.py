"""Outbound HTTP: one session per process and timeout (user agent, kept-alive connections, no cookie
jar, no redirects followed), and one way to judge a peer's answer.

Redirects are never followed on partner calls: requests would turn a POST into a bodiless GET on a 301
or 302 (and a delivery would look done), and a 307 to another host would carry the request's headers,
passwords and api-keys included, to that host. A 3xx is the peer's answer, judged like any other.

Nothing here logs a URL's query, a header or a body: they may carry keys or personal data.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app
from requests.sessions import merge_setting
from werkzeug.http import parse_date

from modules import __version__
from modules.core.outbox import Permanent, Retryable

USER_AGENT = f"integration-hub/{__version__}"
RETRYABLE_STATUS = {408, 425, 429}
RETRY_AFTER_STATUS = {429, 503}  # where a peer's Retry-After is honoured (RFC 9110 section 10.2.3)


class TimeoutSession(requests.Session):
    """A session whose requests always have a timeout."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT
        self.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # one call's cookies never reach the next
        self._environment: dict[tuple[str, str], dict[str, Any]] = {}

    def merge_environment_settings(self, url, proxies, stream, verify, cert):  # noqa: ANN001 (requests' signature)
        """As requests does, but the environment (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE...) is read once
        per origin: requests reads it on every call, about a millisecond of CPU per delivery."""
        origin = urlsplit(url)[:2]
        if origin not in self._environment:
            self._environment[origin] = super().merge_environment_settings(url, {}, None, None, None)
        given = {"proxies": proxies, "stream": stream, "verify": verify, "cert": cert}
        return {name: merge_setting(value, self._environment[origin][name]) for name, value in given.items()}

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        kwargs["allow_redirects"] = False  # see the module's docstring: never, whatever a caller asks
        return super().request(method, url, **kwargs)


_sessions: dict[float, TimeoutSession] = {}
os.register_at_fork(after_in_child=_sessions.clear)  # a forked child opens connections of its own


def session(timeout: float | None = None) -> TimeoutSession:
    """This process's session for `timeout` (HTTP_TIMEOUT_SECONDS by default). Shared, so that a worker
    delivering to a partner reuses its connections: do not close it."""
    seconds = timeout or float(current_app.config.get("HTTP_TIMEOUT_SECONDS", 10))
    shared = _sessions.get(seconds)
    if shared is None:
        shared = _sessions[seconds] = TimeoutSession(seconds)
    return shared


def send(http: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """Send a request for an outbox handler: network failures become `Retryable`."""
    try:
        return http.request(method, url, **kwargs)
    except requests.Timeout as exc:
        raise Retryable(f"timeout: {type(exc).__name__}") from exc
    except requests.RequestException as exc:
        raise Retryable(f"connection failed: {type(exc).__name__}") from exc


def redirect_target(response: requests.Response) -> str:
    """Where a 3xx pointed, for an operator to read: scheme, host, port and path, never a user name or
    password before the host, nor the query (either may carry a secret)."""
    parts = urlsplit(response.headers.get("Location", ""))
    try:
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is no number: the host alone says enough
        port = ""
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return f"{parts.scheme}://{host}{port}{parts.path}"[:200] if host else parts.path[:200]


def retry_after(response: requests.Response) -> float | None:
    """The seconds a 429 or 503 asks us to wait (Retry-After: delay-seconds or an HTTP-date, RFC 9110
    section 10.2.3); None for another status, no header, or one that is neither form. A date in the past
    is 0. The outbox caps what it honours (OUTBOX_RETRY_AFTER_MAX_SECONDS)."""
    value = response.headers.get("Retry-After", "").strip()
    if response.status_code not in RETRY_AFTER_STATUS or not value:
        return None
    if value.isdigit():
        return float(value)
    when = parse_date(value)
    return max(0.0, (when - datetime.now(UTC)).total_seconds()) if when else None


def retryable(reason: str, response: requests.Response) -> Retryable:
    """A `Retryable` for the peer's `response`, carrying its status and Retry-After."""
    return Retryable(reason, response.status_code, retry_after(response))


def check_delivery(response: requests.Response, accept: tuple[int, ...] = ()) -> int:
    """2xx (and `accept`) pass; 408/425/429/5xx are `Retryable` (with the peer's Retry-After on 429/503);
    any other status is `Permanent` (a 410 Gone too: the peer says the target is gone for good).

    A 3xx is `Permanent` too (redirects are not followed): the partner's address changed, so an operator
    fixes the setting and replays; the error names the status and the `Location`."""
    status = response.status_code
    if 200 <= status < 300 or status in accept:
        return status
    if 300 <= status < 400:
        raise Permanent(f"HTTP {status}: redirect to {redirect_target(response) or '(no Location)'} "
                        "not followed; check the partner's URL setting", status)
    reason = f"HTTP {status}: {response.text[:200]}"
    if status >= 500 or status in RETRYABLE_STATUS:
        raise retryable(reason, response)
    raise Permanent(reason, status)
