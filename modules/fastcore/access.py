"""Who may call the FASTCore paths, with the contract's exact 401 answers.

The site token opens only POST /inbound/leads; the admin API takes FASTCORE_ADMIN_TOKEN or a signed-in
operator's access token. `@site_token` and `@admin` go right under `@blp.route`, so auth runs before the
body or the query string is read; each documents its security scheme(s) and the 401 in OpenAPI.
"""

from __future__ import annotations

from modules.core.access import OPERATOR_SCHEME, Guard
from modules.core.errors import ApiError

SECURITY_SCHEMES = {
    "fastcoreSiteToken": {"type": "http", "scheme": "bearer"},
    "fastcoreAdminToken": {"type": "http", "scheme": "bearer"},
}

DETAILS = {
    "missing": "Missing Authorization header",
    "scheme": "Invalid auth scheme (use 'Bearer <token>')",
    "invalid": "Invalid token",
}


def refuse(reason: str) -> ApiError:
    """The original service's 401 (FastAPI's bearer scheme) for `reason`: missing, scheme or invalid."""
    return ApiError(401, body={"detail": DETAILS[reason]}, headers={"WWW-Authenticate": "Bearer"})


site_token = Guard(refuse, description="Missing, malformed or wrong site token").bearer_key(
    "FASTCORE_SITE_INGEST_TOKEN", scheme="fastcoreSiteToken")
admin = Guard(refuse, description="Missing, malformed or wrong admin token").bearer_key(
    "FASTCORE_ADMIN_TOKEN", scheme=("fastcoreAdminToken", OPERATOR_SCHEME), operators=True)
