"""The error shape link tracking clients read, and how the domain's refusals are answered in it.

Every error on the domain's paths is `{"success": false, "error": <HTTP reason>, "message": ...}`;
validation errors add `"error": "Validation Failed"`, `validation_errors` and a `timestamp`.
"""

from __future__ import annotations

from typing import Any

from werkzeug.http import HTTP_STATUS_CODES

from modules.core.errors import ApiError, status_of
from modules.core.exceptions import DomainError, Invalid
from modules.core.types import isoformat, utcnow

VALIDATION_FAILED = "Validation Failed"


def error_body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"success": False, "error": HTTP_STATUS_CODES.get(status, "Error"), "message": message, **extra}


def fail(status: int, message: str, **extra: Any) -> ApiError:
    """An error answer in the domain's shape; `extra` adds or overrides keys of the body."""
    return ApiError(status, body=error_body(status, message, **extra))


def validation_failed(message: str, problems: list[str]) -> ApiError:
    """400 listing every problem ("field: reason" or "Event N: reason")."""
    return fail(400, message, error=VALIDATION_FAILED, validation_errors=problems, timestamp=isoformat(utcnow()))


def answer(error: DomainError) -> ApiError:
    """A service's refusal in the domain's shape. Invalid input is a 400, as everywhere in this API (its
    trackers' contract has no 422), with its `details` (a list of problems) as `validation_errors`."""
    if isinstance(error, Invalid):
        return fail(400, error.message) if error.details is None else validation_failed(error.message, error.details)
    return fail(status_of(error), error.message)


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
        return 400, validation_failed("One or more fields failed validation", fields).body
    return status, error_body(status, message)
