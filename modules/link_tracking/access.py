"""Who may call the link tracking API: trackers ingest with a tracking API key (X-API-Key); tracked links
and analytics need a signed-in operator, so that a leaked tracker key cannot create or retarget links.

Put `@tracker_key` or `@operator_token` right under `@blp.route`: the credential is checked before
the rate limit counts and before any body is read.
"""

from __future__ import annotations

from modules.core.access import Guard
from modules.core.errors import ApiError
from modules.link_tracking.errors import error_body
from modules.link_tracking.schemas import TrackingErrorSchema

SECURITY_SCHEMES = {"trackingApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}
KEY_SETTINGS = ("TRACKING_API_KEYS", "STEVE_GLEN_TRACKING_API_KEY", "WEBHOOK_API_KEY")
KEY_REQUIRED = "Valid API key required in X-API-Key header"
OPERATOR_REQUIRED = "Valid operator bearer token required in Authorization header"


def refuse_tracker(_reason: str) -> ApiError:
    """The trackers' 401: the same for a missing and a wrong key."""
    return ApiError(401, body=error_body(401, KEY_REQUIRED))


def refuse_operator(_reason: str) -> ApiError:
    """The operators' 401: the same for a missing, malformed, forged or expired token."""
    return ApiError(401, body=error_body(401, OPERATOR_REQUIRED), headers={"WWW-Authenticate": "Bearer"})


trackers = Guard(refuse_tracker, error_schema=TrackingErrorSchema, description="Missing or wrong X-API-Key")
operators = Guard(refuse_operator, error_schema=TrackingErrorSchema,
                  description="No valid operator bearer token")
#: The tracking key, in X-API-Key: one of KEY_SETTINGS holds it.
tracker_key = trackers.header_key("X-API-Key", *KEY_SETTINGS, scheme="trackingApiKey")
#: A signed-in operator's bearer token.
operator_token = operators.operator()
