"""Who may call the link tracking API, and the error shape its clients read.

Trackers ingest with a tracking API key (X-API-Key); tracked links and analytics need an operator.

Every error on the domain's paths is `{"success": false, "error": <HTTP reason>, "message": ...}`,
validation errors add `validation_errors`. Keys are checked before any body is read.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES

from modules.core import auth
from modules.core.errors import ApiError
from modules.core.types import isoformat, utcnow

KEY_HEADER = "X-API-Key"
OPERATOR_REQUIRED = "Valid operator bearer token required in Authorization header"
KEY_SETTINGS = ("TRACKING_API_KEYS", "STEVE_GLEN_TRACKING_API_KEY", "WEBHOOK_API_KEY")
PATH_PREFIXES = ("/api/tracking-ingest", "/api/link-tracking", "/track/")


def error_body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"success": False, "error": HTTP_STATUS_CODES.get(status, "Error"), "message": message, **extra}


def fail(status: int, message: str, **extra: Any) -> ApiError:
    return ApiError(status, body=error_body(status, message, **extra))


def _flatten(messages: Any, path: str = "") -> list[str]:
    if isinstance(messages, dict):  # "_schema" holds errors of the whole body, not of a field
        return [line for key, value in messages.items()
                for line in _flatten(value, path if key == "_schema" else f"{path}.{key}" if path else str(key))]
    if isinstance(messages, (list, tuple)):
        return [line for value in messages for line in _flatten(value, path)]
    return [f"{path}: {messages}" if path else str(messages)]


def tracking_envelope(status: int, message: str, details: Any) -> tuple[int, dict[str, Any]]:
    """webargs' 422 (and malformed JSON) become this domain's 400 listing every bad field."""
    if details is not None and status in (400, 422):
        # webargs keys messages by location ("json", "query"); the field names are what a client needs.
        fields = [line for location in (details.values() if isinstance(details, dict) else [details])
                  for line in _flatten(location)]
        return 400, {**error_body(400, "One or more fields failed validation", validation_errors=fields,
                                  timestamp=isoformat(utcnow())), "error": "Validation Failed"}
    return status, error_body(status, message)


def tracking_key_valid() -> bool:
    return auth.header_key_valid(KEY_HEADER, *KEY_SETTINGS)


def require_tracking_key() -> None:
    if not tracking_key_valid():
        raise fail(401, "Valid API key required in X-API-Key header")


def tracking_key_required(view: Callable) -> Callable:
    """`require_tracking_key` as the outermost decorator: the key is checked before the rate limit counts
    (per key) and before the body is read."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        require_tracking_key()
        return view(*args, **kwargs)

    return guarded


def _operator_missing() -> ApiError:
    return ApiError(401, body=error_body(401, OPERATOR_REQUIRED), headers={"WWW-Authenticate": "Bearer"})


#: Link management (/api/link-tracking) is for operators only: a tracking API key only ingests clicks, so a
#: leaked tracker key cannot create or retarget links. Outermost under the route, before the body is parsed.
operator_required = auth.require_operator(_operator_missing)


def actor() -> str:
    """For the audit log: the signed-in operator (link management has no other callers)."""
    return f"operator:{auth.current_operator().id}"
