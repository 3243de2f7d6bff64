"""Who may call the DTech sales API, and how often: signed-in agents (and admins, who may use everything),
each with a budget of calls that reach DTech.

A missing, malformed, forged or expired token gets the 401 DTech's clients read,
{"detail": "Invalid authentication credentials", "code": "UNAUTHORIZED"} with `WWW-Authenticate: Bearer`;
a signed-in operator whose role is not `agent` (nor `admin`) gets a 403 FORBIDDEN in the same envelope.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from modules.core import auth, roles
from modules.core.access import Guard, documented
from modules.core.errors import ApiError
from modules.core.security import charge
from modules.dtech.errors import error
from modules.dtech.schemas import SalesErrorSchema

PARTNER_CALLS = "dtech.partner-calls"  # one bucket per operator for every synchronous call to DTech


def refuse(_reason: str) -> ApiError:
    """The same 401 whatever was wrong with the credentials."""
    return error(401, "UNAUTHORIZED", "Invalid authentication credentials", {"WWW-Authenticate": "Bearer"})


_signed_in = Guard(refuse, error_schema=SalesErrorSchema, description="Missing or invalid operator token").operator()


def agent(view: Callable) -> Callable:
    """A signed-in operator's bearer token whose role allows DTech sales (`agent`, or `admin`): right under
    `@blp.route` on every view of the domain. The 403 is in DTech's envelope, which the core's role guard
    (`{"detail"}` only) is not."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not roles.allows(auth.current_operator().role, roles.AGENT):
            raise error(403, "FORBIDDEN", "This needs the agent role")
        return view(*args, **kwargs)

    return _signed_in(documented(403, SalesErrorSchema, "The operator's role is not agent (nor admin)")(checked))


def count_partner_call(identity: str | None = None) -> None:
    """One synchronous DTech call for this operator; over DTECH_PARTNER_CALL_RATE_LIMIT, a 429 (TooManyRequests,
    with Retry-After) and DTech is not called. Invoked once the request is valid, so a refused body costs none.
    `identity`: whom to count when the request has no API credential (the console passes `operator:<id>`, the
    credential of the same operator's tokens, so both share one budget)."""
    charge("DTECH_PARTNER_CALL_RATE_LIMIT", scope=PARTNER_CALLS, identity=identity)
