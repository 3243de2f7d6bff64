"""Who may call the SentraTech API.

- The site's forms post with an ingest key (INGEST_KEY) in `X-INGEST-KEY`: it is embedded in public web
  pages, so it stores forms and never reads them. Refused: the contract's 401.
- The status endpoints answer counts to anyone; a read key (INGEST_READ_KEY) in the same header also
  reads the latest records (`reads_records`).
- The admin endpoints need a signed-in operator. Refused: a bearer 401.
"""

from __future__ import annotations

from flask import request

from modules.core import auth, security
from modules.core.access import Guard, refuse_bearer
from modules.core.errors import ApiError

INGEST_KEY_HEADER = "X-INGEST-KEY"
READ_SECURITY = [{}, {"ingestReadKey": []}]  # a read key is optional: without one the answer has counts only

SECURITY_SCHEMES = {
    "ingestKey": {"type": "apiKey", "in": "header", "name": INGEST_KEY_HEADER,
                  "description": "A value of INGEST_KEY: stores forms (it is embedded in the site's pages)"},
    "ingestReadKey": {
        "type": "apiKey", "in": "header", "name": INGEST_KEY_HEADER,
        "description": "A value of INGEST_READ_KEY: also reads the latest records on the status endpoints"},
}


def refuse_ingest_key(_reason: str) -> ApiError:
    """The contract's 401 for a missing or wrong ingest key (the same body for either)."""
    return ApiError(401, body={"detail": "Invalid or missing X-INGEST-KEY"})


#: A value of INGEST_KEY in X-INGEST-KEY. Right under `@blp.route`, as every guard.
ingest_key = Guard(refuse_ingest_key, description="Missing or wrong X-INGEST-KEY").header_key(
    INGEST_KEY_HEADER, "INGEST_KEY", scheme="ingestKey")
#: A signed-in operator's bearer token.
operator = Guard(refuse_bearer, description="No valid operator token").operator()


def reads_records() -> bool:
    """Whether X-INGEST-KEY holds a read key (INGEST_READ_KEY). The ingest key is embedded in public web
    pages, so it never reads personal data, even when a read key was configured with the same value by
    mistake. A key that is neither counts as refused (AUTH_FAILURE_RATE_LIMIT), as on every other endpoint,
    although the view still answers the counts; over that limit this raises TooManyRequests."""
    given = request.headers.get(INGEST_KEY_HEADER)
    ingest_keys = auth.configured_keys("INGEST_KEY")
    read_keys = [key for key in auth.configured_keys("INGEST_READ_KEY") if key not in ingest_keys]
    if auth.key_matches(given, read_keys):
        return True
    if given and not auth.key_matches(given, ingest_keys):
        security.count_refused_credential()
    return False
