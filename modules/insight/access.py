"""Who may call the Insight API: every endpoint but SMS receipts needs a signed-in operator whose role allows
Insight work (`operator`, or `admin`; an `agent` gets a 403 `{"detail"}`); a missing,
malformed, forged or expired token gets the 401 the front end reads (the core's `refuse_bearer`).
`@operator_endpoint` (or `@ingest_endpoint`) goes right under `@blp.route`, so that auth runs before the body
is validated; the core's Guard also documents the bearer scheme and the 401 in the OpenAPI document. SMS
receipts come from Arkesel, which holds no operator token: `@receipt_endpoint` checks the signed token of
the callback URL the hub gave it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, request

from modules.core import roles
from modules.core.access import Guard, actor, documented, refuse_bearer
from modules.core.auth import current_operator
from modules.core.errors import ApiError
from modules.core.schemas import DetailSchema
from modules.core.security import count_refused_credential, ingest_limit
from modules.insight.services.common import Actor
from modules.insight.services.sms_receipts import token_is_valid

RECEIPT_ACTOR = "token:insight.sms-receipt"  # the audit log's name of a caller holding a receipt URL

guard = Guard(refuse_bearer, description="Missing, forged or expired token")
operator_endpoint = guard.operator(role=roles.OPERATOR)


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


def receipt_endpoint(view: Callable) -> Callable:
    """A delivery receipt of the SMS `sms_id` (a path parameter): the `token` query parameter must be the
    hub's signature of that id, else 403 before anything else is read or looked up (so a caller without a
    valid token learns nothing, not even whether the SMS exists). A refused token counts against the
    address's AUTH_FAILURE_RATE_LIMIT, as a refused credential does."""
    described = documented(403, DetailSchema, "Missing or wrong receipt token")(view)

    @functools.wraps(described)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if not token_is_valid(kwargs["sms_id"], request.args.get("token")):
            count_refused_credential()
            raise ApiError(403, body={"detail": "Invalid receipt token"})
        g.actor = RECEIPT_ACTOR
        return described(*args, **kwargs)

    return checked
