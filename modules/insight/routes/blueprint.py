"""The Insight blueprint, the paths it owns, and its one translation of the services' refusals into the
contract's answers."""

from __future__ import annotations

from flask_smorest import Blueprint

from modules.core.errors import ApiError, answer_domain_errors, fastapi_items, status_of
from modules.core.exceptions import DomainError
from modules.insight.services.common import BalanceTooLow, DailyCapReached, InvalidFields

blp = Blueprint("insight", __name__, description="Insight customers")

PATH_PREFIXES = ("/api/customers", "/api/actions", "/api/sms", "/api/upload")


def answer(error: DomainError) -> ApiError:
    """The contract's body of a refusal, with the core's status of its kind (404 NotFound, 409 Conflict, 422
    Invalid, 503 Unavailable, 400 UnusableInput; 429 DailyCapReached, with Retry-After; 402 BalanceTooLow):
    `{"detail": {"error_code", "message", "details"}}` when the contract names a code, FastAPI's list of
    field errors for InvalidFields, else `{"detail": message}`."""
    if error.code:
        detail = {"error_code": error.code, "message": error.message, "details": error.details or {}}
    elif isinstance(error, InvalidFields):
        detail = fastapi_items({"json": error.details})
    else:
        detail = error.message
    if isinstance(error, DailyCapReached):
        return ApiError(429, body={"detail": detail}, headers={"Retry-After": str(error.retry_after)})
    return ApiError(402 if isinstance(error, BalanceTooLow) else status_of(error), body={"detail": detail})


answer_domain_errors(blp, answer)
