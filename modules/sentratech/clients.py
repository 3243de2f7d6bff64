"""The remote dashboard's API: a service-account login, then one POST per record.

The bearer token is cached in Redis so that every worker process shares one login, and each process
keeps the token it last used for up to LOCAL_TOKEN_SECONDS (less than the margin a token leaves Redis
before the dashboard expires it), so that a delivery costs no Redis call; a 401 on a record drops both
and logs in again once. Network failures, 408/429/5xx are `Retryable`; any other
refusal is `Permanent`. Nothing here logs a URL, a header or a body.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

import redis
import requests
from flask import current_app

from modules.core import http
from modules.core.outbox import Permanent
from modules.core.redis_client import REDIS_ERRORS, get_redis

log = logging.getLogger(__name__)

DEFAULT_TOKEN_SECONDS = 3000  # when the login answer gives no expires_in
TOKEN_MARGIN_SECONDS = 30  # drop a token this long before the dashboard says it expires
LOCAL_TOKEN_SECONDS = 15  # a process reuses a token read from Redis this long (< TOKEN_MARGIN_SECONDS)
LOCAL_TOKENS = "sentratech.dashboard_tokens"  # the app's extension holding this process's tokens


def dashboard_configured() -> bool:
    """Whether DASHBOARD_BASE_URL is set: without it records are stored and stay pending."""
    return bool(current_app.config.get("DASHBOARD_BASE_URL"))


class DashboardClient:
    def __init__(self, base_url: str, email: str, password: str, cache: redis.Redis,
                 session: requests.Session, local_tokens: dict[str, tuple[str, float]]):
        """`local_tokens`: this process's tokens by Redis key, with the time.monotonic() they expire at
        (the app's; see `from_config`)."""
        self.base_url = base_url.rstrip("/")
        self.email, self.password = email, password
        self.cache, self.session, self.local_tokens = cache, session, local_tokens
        account = hashlib.sha256(f"{self.base_url}|{email}".encode()).hexdigest()[:16]
        self.token_key = f"sentratech:dashboard-token:{account}"

    @classmethod
    def from_config(cls) -> DashboardClient | None:
        """The client for the configured dashboard, or None when DASHBOARD_BASE_URL is unset."""
        config = current_app.config
        if not dashboard_configured():
            return None
        return cls(config["DASHBOARD_BASE_URL"], config.get("SVC_EMAIL", ""), config.get("SVC_PASSWORD", ""),
                   get_redis(), http.session(), current_app.extensions.setdefault(LOCAL_TOKENS, {}))

    def post_record(self, form_name: str, body: dict[str, Any], idempotency_key: str) -> int:
        """POST the record to /v1/<form>; returns the dashboard's status (2xx, or 409: already there)."""
        url = f"{self.base_url}/v1/{form_name}"
        response = self._post(url, body, idempotency_key, self._token())
        if response.status_code == 401 and self.email:
            response = self._post(url, body, idempotency_key, self._token(fresh=True))
        return http.check_delivery(response, accept=(409,))

    def _post(self, url: str, body: dict[str, Any], idempotency_key: str, token: str | None) -> requests.Response:
        headers = {"Idempotency-Key": idempotency_key}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return http.send(self.session, "POST", url, json=body, headers=headers)

    def _token(self, fresh: bool = False) -> str | None:
        """The cached token, or a new one; None when no service account is configured."""
        if not self.email:
            return None
        if fresh:
            self.local_tokens.pop(self.token_key, None)
        else:
            local = self.local_tokens.get(self.token_key)
            if local and local[1] > time.monotonic():
                return local[0]
            cached = self._cache_call(self.cache.get, self.token_key)
            if cached:
                return self._keep(cached.decode(), LOCAL_TOKEN_SECONDS)
        return self._login()

    def _keep(self, token: str, seconds: float) -> str:
        """Keep `token` in this process for `seconds` (at most LOCAL_TOKEN_SECONDS); returns it."""
        self.local_tokens[self.token_key] = (token, time.monotonic() + min(seconds, LOCAL_TOKEN_SECONDS))
        return token

    def _login(self) -> str:
        response = http.send(self.session, "POST", f"{self.base_url}/api/auth/login",
                             json={"email": self.email, "password": self.password})
        try:
            http.check_delivery(response)
        except Permanent as refused:
            # A redirect's reason names where it pointed; another refusal's body is not kept.
            reason = str(refused) if 300 <= response.status_code < 400 else f"HTTP {response.status_code}"
            raise Permanent(f"dashboard login refused: {reason}", response.status_code) from refused
        answer = _json_object(response)
        token = answer.get("access_token") or answer.get("token")
        if not isinstance(token, str) or not token:
            raise Permanent("dashboard login answered without access_token or token", response.status_code)
        lifetime = answer.get("expires_in")
        seconds = lifetime - TOKEN_MARGIN_SECONDS if isinstance(lifetime, int) else DEFAULT_TOKEN_SECONDS
        if seconds > 0:
            self._cache_call(self.cache.set, self.token_key, token, ex=seconds)
            self._keep(token, seconds)
        return token

    def _cache_call(self, method, *args: Any, **kwargs: Any) -> Any:
        """A Redis call that may fail: without the cache we simply log in more often."""
        try:
            return method(*args, **kwargs)
        except REDIS_ERRORS as exc:
            log.warning("dashboard token cache unavailable", extra={"error": type(exc).__name__})
            return None


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
