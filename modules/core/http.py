"""Outbound HTTP: one session factory (timeouts, user agent) and one way to judge a peer's answer.

Nothing here logs a URL's query, a header or a body: they may carry keys or personal data.
"""

from __future__ import annotations

from typing import Any

import requests
from flask import current_app

from modules import __version__
from modules.core.outbox import Permanent, Retryable

USER_AGENT = f"integration-hub/{__version__}"
RETRYABLE_STATUS = {408, 425, 429}


class TimeoutSession(requests.Session):
    """A session whose requests always have a timeout."""

    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout
        self.headers["User-Agent"] = USER_AGENT

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


def session(timeout: float | None = None) -> TimeoutSession:
    return TimeoutSession(timeout or float(current_app.config.get("HTTP_TIMEOUT_SECONDS", 10)))


def send(http: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """Send a request for an outbox handler: network failures become `Retryable`."""
    try:
        return http.request(method, url, **kwargs)
    except requests.Timeout as exc:
        raise Retryable(f"timeout: {type(exc).__name__}") from exc
    except requests.RequestException as exc:
        raise Retryable(f"connection failed: {type(exc).__name__}") from exc


def check_delivery(response: requests.Response, accept: tuple[int, ...] = ()) -> int:
    """2xx (and `accept`) pass; 408/425/429/5xx are `Retryable`; any other status is `Permanent`."""
    status = response.status_code
    if 200 <= status < 300 or status in accept:
        return status
    reason = f"HTTP {status}: {response.text[:200]}"
    if status >= 500 or status in RETRYABLE_STATUS:
        raise Retryable(reason, status)
    raise Permanent(reason, status)
