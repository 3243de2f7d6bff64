"""Who may call the DTech sales API, and how often: signed-in operators only, each with a budget of calls
that reach DTech.

A missing, malformed, forged or expired token gets the 401 DTech's clients read,
{"detail": "Invalid authentication credentials", "code": "UNAUTHORIZED"} with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

from flask_smorest import Blueprint

from modules.core.access import Guard
from modules.core.errors import ApiError
from modules.core.security import charge
from modules.dtech.errors import error
from modules.dtech.schemas import SalesErrorSchema

PARTNER_CALLS = "dtech.partner-calls"  # one bucket per operator for every synchronous call to DTech


def refuse(_reason: str) -> ApiError:
    """The same 401 whatever was wrong with the credentials."""
    return error(401, "UNAUTHORIZED", "Invalid authentication credentials", {"WWW-Authenticate": "Bearer"})


def operator_guard(blp: Blueprint) -> Guard:
    """The guard of the domain's views (`@guard.operator()` right under `@blp.route`); built with the
    blueprint, which lives with the views."""
    return Guard(blp, refuse, error_schema=SalesErrorSchema, description="Missing or invalid operator token")


def count_partner_call() -> None:
    """One synchronous DTech call for this operator; over DTECH_PARTNER_CALL_RATE_LIMIT, a 429 (TooManyRequests,
    with Retry-After) and DTech is not called. Invoked once the request is valid, so a refused body costs none."""
    charge("DTECH_PARTNER_CALL_RATE_LIMIT", scope=PARTNER_CALLS)
