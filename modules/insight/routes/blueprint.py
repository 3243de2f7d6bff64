"""The Insight blueprint, and the one translation of the services' refusals into the contract's answers; the
views live beside it in this package, one module per area."""

from flask_smorest import Blueprint

from modules.core.errors import ApiError, answer_domain_errors, fastapi_items, status_of
from modules.core.exceptions import DomainError
from modules.insight.services.common import InvalidFields

blp = Blueprint("insight", __name__, description="Insight customers")

PATH_PREFIXES = ("/api/customers", "/api/actions", "/api/sms", "/api/upload")


def answer(error: DomainError) -> ApiError:
    """The contract's body of a refusal, with the core's status of its kind (404 NotFound, 409 Conflict, 422
    Invalid, 503 Unavailable, 400 UnusableInput): `{"detail": {"error_code", "message", "details"}}` when
    the contract names a code, FastAPI's list of field errors for InvalidFields, else `{"detail": message}`."""
    if error.code:
        detail = {"error_code": error.code, "message": error.message, "details": error.details or {}}
    elif isinstance(error, InvalidFields):
        detail = fastapi_items({"json": error.details})
    else:
        detail = error.message
    return ApiError(status_of(error), body={"detail": detail})


answer_domain_errors(blp, answer)
