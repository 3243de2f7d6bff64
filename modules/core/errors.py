"""JSON errors for every path, each in the envelope its clients read.

A domain registers an envelope for its blueprint (and the URL prefixes it owns, so that a 404 or 405
on one of its paths is shaped the same way). An envelope turns (status, message, details) into
(status, body): it may change the status, as FastAPI turns malformed JSON into a 422.
Views raise `ApiError` with the exact body a contract prescribes. No stack trace reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, current_app, g, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from werkzeug.exceptions import HTTPException

from modules.core.exceptions import Conflict, DomainError, Invalid, NotFound, Unavailable
from modules.core.extensions import db
from modules.core.registry import Envelope, registry

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answer: `body` is sent as is; without one the blueprint's envelope shapes `message`."""

    def __init__(self, status: int, message: str = "", body: dict[str, Any] | None = None,
                 headers: dict[str, str] | None = None, details: Any = None):
        super().__init__(message)
        self.status, self.message, self.body, self.headers, self.details = status, message, body, headers, details


DOMAIN_ERROR_STATUS: dict[type[DomainError], int] = {NotFound: 404, Conflict: 409, Invalid: 422, Unavailable: 503}


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain exception: that of its nearest class in DOMAIN_ERROR_STATUS, else 400."""
    return next((DOMAIN_ERROR_STATUS[cls] for cls in type(error).__mro__ if cls in DOMAIN_ERROR_STATUS), 400)


def answer_domain_errors(blp: Blueprint, answer: Callable[[DomainError], ApiError] | None = None) -> None:
    """The blueprint's one handler of the domain exceptions its services raise: `answer(error)` builds the
    answer the domain's clients read; by default `status_of(error)` with the message (and details) in the
    blueprint's envelope."""

    def handle(error: DomainError):
        if answer is not None:
            return handle_api_error(answer(error))
        return handle_api_error(ApiError(status_of(error), error.message, details=error.details))

    blp.register_error_handler(DomainError, handle)


def register_envelope(app: Flask, blueprint: str, envelope: Envelope, prefixes: tuple[str, ...] = ()) -> None:
    """Shape the errors of `blueprint`'s views, and of any path under `prefixes`, with `envelope`."""
    registry(app).add_envelope(blueprint, envelope, prefixes)


def _location(location: str) -> str:
    return {"json": "body", "form": "body", "files": "body", "headers": "header", "view_args": "path"}.get(
        location, location)


def validation_items(messages: Any, loc: list[Any]) -> list[dict[str, Any]]:
    """Flatten marshmallow/webargs messages into FastAPI's [{"loc", "msg", "type"}] list."""
    if isinstance(messages, dict):
        items: list[dict[str, Any]] = []
        for key, value in messages.items():
            sub = loc if key == "_schema" else [*loc, int(key) if str(key).isdigit() else key]
            items.extend(validation_items(value, sub))
        return items
    if isinstance(messages, (list, tuple)) and messages and all(isinstance(m, str) for m in messages):
        return [{"loc": loc, "msg": m, "type": _error_type(m)} for m in messages]
    if isinstance(messages, (list, tuple)):
        return [item for m in messages for item in validation_items(m, loc)]
    return [{"loc": loc, "msg": str(messages), "type": _error_type(str(messages))}]


def _error_type(message: str) -> str:
    lowered = message.lower()
    if "missing data" in lowered or "required" in lowered:
        return "missing"
    if "json" in lowered:
        return "json_invalid"
    if "unknown field" in lowered:
        return "extra_forbidden"
    return "value_error"


def fastapi_items(details: Any) -> list[dict[str, Any]]:
    """webargs messages are keyed by location first: {"json": {"email": [...]}}."""
    if isinstance(details, dict):
        return [item for location, messages in details.items()
                for item in validation_items(messages, [_location(location)])]
    return validation_items(details, ["body"])


def fastapi_envelope(status: int, message: str, details: Any) -> tuple[int, dict[str, Any]]:
    """FastAPI's shape: {"detail": "text"}, or for validation {"detail": [{"loc", "msg", "type"}]}."""
    if details is not None and status in (400, 422):
        return 422, {"detail": fastapi_items(details)}
    return status, {"detail": message}


def _envelope_for_request() -> Envelope:
    registered = registry()
    if request.blueprint in registered.envelopes:
        return registered.envelopes[request.blueprint]
    for prefix, envelope in registered.prefixed_envelopes:
        if request.path.startswith(prefix):
            return envelope
    return fastapi_envelope


PageRenderer = Callable[[int, str, dict[str, str] | None], Any]


def register_page_errors(app: Flask, prefix: str, render: PageRenderer) -> None:
    """Errors on paths under `prefix` (HTML pages, the console) are answered by `render(status, message,
    headers)` instead of a JSON envelope."""
    app.extensions.setdefault("hub_page_errors", []).append((prefix, render))


def _page_renderer() -> PageRenderer | None:
    for prefix, render in current_app.extensions.get("hub_page_errors", ()):
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return render
    return None


def _respond(status: int, message: str, details: Any = None, headers: dict[str, str] | None = None):
    render = _page_renderer()
    if render is not None:
        return render(status, message if status < 500 else "Something went wrong on our side.", headers)
    final_status, body = _envelope_for_request()(status, message, details)
    response = jsonify(body)
    response.status_code = final_status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_api_error(error: ApiError):
    if error.body is not None:
        response = jsonify(error.body)
        response.status_code = error.status
        response.headers.extend(error.headers or {})
        return response
    return _respond(error.status, error.message, error.details, error.headers)


def handle_http_exception(error: HTTPException):
    data = getattr(error, "data", None) or {}
    details = data.get("messages")
    headers = {name: value for name, value in error.get_headers() if name != "Content-Type"}
    return _respond(error.code or 500, error.description or error.name, details, headers)


def handle_database_error(error: DBAPIError):
    """A database that is down or restarting answers 503: nothing was stored, the client may retry."""
    unavailable = isinstance(error, OperationalError) or error.connection_invalidated
    if not unavailable:
        return handle_unexpected(error)
    db.session.rollback()
    log.warning("database unavailable", extra={"request_id": g.get("request_id"), "error": type(error).__name__})
    return _respond(503, "Service temporarily unavailable, please retry", headers={"Retry-After": "5"})


def handle_pool_timeout(_error: SQLAlchemyTimeoutError):
    """Every pooled connection stayed busy for the pool's timeout: a 503 the client may retry, at once,
    rather than a 500."""
    log.warning("database connection pool exhausted", extra={"request_id": g.get("request_id")})
    return _respond(503, "Service temporarily unavailable, please retry", headers={"Retry-After": "2"})


# Text PostgreSQL cannot store, which psycopg2 refuses with a bare ValueError: bad input, not a server error.
_UNSTORABLE_TEXT = {
    "NUL (0x00)": "Text may not contain NUL (0x00) characters",
    "surrogates not allowed": "Text may not contain unpaired surrogate characters",
}


def handle_value_error(error: ValueError):
    """Bad input that surfaces as a bare ValueError (UnicodeEncodeError included): unstorable text, or a
    JSON number past Python's digit limit (json.loads under webargs). Any other ValueError is a bug."""
    text = str(error)
    if "integer string conversion" in text:
        return _respond(422, "Invalid JSON body.", {"json": ["Invalid JSON body."]})
    for marker, message in _UNSTORABLE_TEXT.items():
        if marker in text:
            db.session.rollback()
            return _respond(422, message)
    return handle_unexpected(error)


def handle_overflow_error(error: OverflowError):
    """A value past what Python or the database can represent (a date in year 1 moved to UTC, a huge
    number) is bad input; schemas should refuse it first, this keeps it a 4xx where one does not."""
    db.session.rollback()
    return _respond(422, "A value is out of range.")


def handle_recursion_error(error: RecursionError):
    """json.loads gives up on very deeply nested input (`[[[[...]]]]`) with a RecursionError."""
    return _respond(422, "Invalid JSON body.", {"json": ["Invalid JSON body: nested too deeply."]})


def handle_unexpected(error: Exception):
    log.exception("unhandled error", extra={"request_id": g.get("request_id"), "error": type(error).__name__})
    return _respond(500, "Internal server error")


def init_app(app: Flask) -> None:
    """Registered after flask-smorest's own handler, which it replaces."""
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(SQLAlchemyTimeoutError, handle_pool_timeout)
    app.register_error_handler(ValueError, handle_value_error)
    app.register_error_handler(RecursionError, handle_recursion_error)
    app.register_error_handler(OverflowError, handle_overflow_error)
    app.register_error_handler(Exception, handle_unexpected)
