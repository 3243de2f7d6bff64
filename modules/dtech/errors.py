"""DTech's error shape: {"detail": "<text>", "code": "<ERROR_CODE>"}, validation as 400 naming the fields."""

from __future__ import annotations

from typing import Any

from modules.core.errors import ApiError, fastapi_items

CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
}


def error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(status, body={"detail": detail, "code": code}, headers=headers)


def unauthorized() -> ApiError:
    return error(401, "UNAUTHORIZED", "Invalid authentication credentials", {"WWW-Authenticate": "Bearer"})


def validation_error(field: str, message: str) -> ApiError:
    return error(400, "VALIDATION_ERROR", f"Invalid request: {field}: {message}")


def validation_detail(details: Any) -> str:
    """'Invalid request: lead.phone_mobile: ...; account_id: Not a valid UUID.' (the location is left out)."""
    parts = []
    for item in fastapi_items(details):
        field = ".".join(str(part) for part in item["loc"][1:]) or "body"
        parts.append(f"{field}: {item['msg']}")
    return "Invalid request: " + "; ".join(parts)


def dtech_envelope(status: int, message: str, details: Any) -> tuple[int, dict[str, Any]]:
    if status in (400, 422):
        return 400, {"detail": validation_detail(details) if details else message, "code": "VALIDATION_ERROR"}
    code = CODES.get(status) or ("INTERNAL_ERROR" if status >= 500 else "ERROR")
    return status, {"detail": message, "code": code}
