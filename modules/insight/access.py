"""Every Insight endpoint needs a signed-in operator; a missing, forged or expired token gets the 401
the front end reads. `@operator_endpoint` goes right under `@blp.route`, so that auth runs before the
body is validated; it also documents the bearer scheme and the 401 in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable

from modules.core.auth import require_operator
from modules.core.errors import ApiError
from modules.core.schemas import DetailSchema
from modules.core.security import ingest_limit
from modules.insight.routes.blueprint import blp


def _unauthorized() -> ApiError:
    return ApiError(401, body={"detail": "Invalid authentication credentials"},
                    headers={"WWW-Authenticate": "Bearer"})


signed_in = require_operator(_unauthorized)


def operator_endpoint(view: Callable) -> Callable:
    documented = blp.alt_response(401, schema=DetailSchema, description="Missing, forged or expired token")(view)
    return signed_in(blp.doc(security=[{"operatorBearer": []}])(documented))


def ingest_endpoint(view: Callable) -> Callable:
    """An operator endpoint that takes data in (spreadsheets, batches, SMS sends): also rate-limited per
    operator (INGEST_RATE_LIMIT), after auth: every token of one operator shares one count."""
    limited = ingest_limit()(blp.alt_response(
        429, schema=DetailSchema, description="Over INGEST_RATE_LIMIT for this operator; see Retry-After")(view))
    return operator_endpoint(limited)
