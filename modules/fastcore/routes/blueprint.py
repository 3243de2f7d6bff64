"""The FASTCore blueprint, and its one answer to the refusals of the domain's services."""

from flask_smorest import Blueprint

from modules.core.errors import ApiError, answer_domain_errors, status_of
from modules.core.exceptions import DomainError, Invalid
from modules.fastcore.services import DuplicateRequest

blp = Blueprint("fastcore", __name__, description="FASTCore leads")


def answer(error: DomainError) -> ApiError:
    """The original service's bodies, `{"detail": <message>}`: a request it refused (a request_id that is not
    a UUID or is already taken, a status that is none of the statuses) is a 400, and a duplicate also names
    the lead it was stored as; a missing lead is a 404, storage that is down a 503."""
    if isinstance(error, DuplicateRequest):
        return ApiError(400, body={"detail": error.message, "leadId": error.lead_id})
    status = 400 if isinstance(error, Invalid) else status_of(error)
    return ApiError(status, body={"detail": error.message})


answer_domain_errors(blp, answer)
