"""Who may call the Insight API: every endpoint needs a signed-in operator; a missing, malformed, forged or
expired token gets the 401 the front end reads (the core's `refuse_bearer`). `@operator_endpoint` (or
`@ingest_endpoint`) goes right under `@blp.route`, so that auth runs before the body is validated; the
core's Guard also documents the bearer scheme and the 401 in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

from modules.core.access import Guard, actor, documented, refuse_bearer
from modules.core.auth import current_operator
from modules.core.schemas import DetailSchema
from modules.core.security import ingest_limit
from modules.insight.services.common import Actor

guard = Guard(refuse_bearer, description="Missing, forged or expired token")
operator_endpoint = guard.operator()


def ingest_endpoint(view: Callable) -> Callable:
    """An operator endpoint that takes data in (spreadsheets, batches, SMS sends): also rate-limited per
    operator (INGEST_RATE_LIMIT), after auth: every token of one operator shares one count."""
    limited = ingest_limit()(documented(
        429, DetailSchema, "Over INGEST_RATE_LIMIT for this operator; see Retry-After")(view))
    return operator_endpoint(limited)


def current_actor() -> Actor:
    """The signed-in operator of a guarded view, as the services record them: `operator:<id>` in the audit
    log, their name (else e-mail) in `performed_by`."""
    operator = current_operator()
    return Actor(audit=actor(), name=operator.name or operator.email)
