"""Who may call the DTech sales API, and how often: signed-in operators only, each with a budget of calls
that reach DTech.

A missing, malformed, forged or expired token gets the 401 DTech's clients read,
{"detail": "Invalid authentication credentials", "code": "UNAUTHORIZED"} with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

from modules.core.access import Guard
from modules.core.errors import ApiError
from modules.core.security import charge
from modules.dtech.errors import error
from modules.dtech.schemas import SalesErrorSchema

PARTNER_CALLS = "dtech.partner-calls"  # one bucket per operator for every synchronous call to DTech


def refuse(_reason: str) -> ApiError:
    """The same 401 whatever was wrong with the credentials."""
    return error(401, "UNAUTHORIZED", "Invalid authentication credentials", {"WWW-Authenticate": "Bearer"})


#: A signed-in operator's bearer token: right under `@blp.route` on every view of the domain.
operator = Guard(refuse, error_schema=SalesErrorSchema, description="Missing or invalid operator token").operator()


def count_partner_call() -> None:
    """One synchronous DTech call for this operator; over DTECH_PARTNER_CALL_RATE_LIMIT, a 429 (TooManyRequests,
    with Retry-After) and DTech is not called. Invoked once the request is valid, so a refused body costs none."""
    charge("DTECH_PARTNER_CALL_RATE_LIMIT", scope=PARTNER_CALLS)
