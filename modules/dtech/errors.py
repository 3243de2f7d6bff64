"""DTech's errors: what the domain refuses with, and the shape its clients read.

Every error is {"detail": "<text>", "code": "<ERROR_CODE>"}; validation is a 400 naming the fields.
Services, the client and the file receiver raise the exceptions below (the core's `DomainError`
family, knowing nothing of HTTP); `answer` gives each its status and code, and `dtech_envelope` shapes
every other error on the domain's paths.
"""

from __future__ import annotations

from typing import Any

from modules.core.errors import ApiError, fastapi_items, status_of
from modules.core.exceptions import Conflict, DomainError, Invalid, NotFound, Unavailable

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


class PartnerFailure(Unavailable):
    """DTech did not give a usable answer (502 PARTNER_ERROR unless a subclass says otherwise)."""

    CODE = "PARTNER_ERROR"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message, code=code or self.CODE)


class PartnerRefused(PartnerFailure):
    """DTech answered a status other than 2xx; 401 and 403 mean it refused our signature."""

    def __init__(self, partner_status: int, partner_message: str):
        super().__init__(f"DTech answered HTTP {partner_status}: {partner_message}",
                         "PARTNER_AUTH_FAILED" if partner_status in (401, 403) else None)
        self.partner_status = partner_status


class PartnerTimeout(PartnerFailure):
    CODE = "PARTNER_TIMEOUT"


class PartnerUnreachable(PartnerFailure):
    CODE = "PARTNER_UNREACHABLE"


class PartnerNotConfigured(PartnerFailure):
    CODE = "PARTNER_NOT_CONFIGURED"


class UnusableUploadUrl(PartnerFailure):
    """DTech's upload_url is not one the hub PUTs a recording to (502 PARTNER_ERROR, or a permanent
    delivery failure when found before the PUT)."""


class RecordingTooLarge(Invalid):
    def __init__(self, limit: int):
        super().__init__(f"A recording may have at most {limit} bytes (DTECH_MAX_RECORDING_BYTES).",
                         code="PAYLOAD_TOO_LARGE")


def invalid_field(field: str, message: str) -> Invalid:
    """A 400 VALIDATION_ERROR naming `field`, as the schemas' errors do."""
    return Invalid(f"Invalid request: {field}: {message}", code="VALIDATION_ERROR")


STATUS: dict[type[DomainError], int] = {
    PartnerTimeout: 504, PartnerFailure: 502, RecordingTooLarge: 413, NotFound: 404, Conflict: 409, Invalid: 400,
}


def error(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> ApiError:
    return ApiError(status, body={"detail": detail, "code": code}, headers=headers)


def answer(refusal: DomainError) -> ApiError:
    """The answer to a domain exception: its status (STATUS, by its nearest class), its code (else the
    status's), its message as the detail."""
    status = next((STATUS[cls] for cls in type(refusal).__mro__ if cls in STATUS), None) or status_of(refusal)
    return error(status, refusal.code or CODES.get(status, "ERROR"), refusal.message)


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
