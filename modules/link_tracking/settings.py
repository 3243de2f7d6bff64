"""Settings of the link tracking domain (see modules/core/config.py for how they are read)."""

from modules.core.config import Setting, as_int, as_list

SETTINGS = [
    Setting("TRACKING_API_KEYS", "", "X-API-Key values accepted by /api/tracking-ingest (comma-separated)",
            as_list, secret=True, generate=True),
    Setting("STEVE_GLEN_TRACKING_API_KEY", "", "Legacy tracking key, still accepted", secret=True),
    Setting("WEBHOOK_API_KEY", "", "Legacy tracking key used by the original test script, still accepted",
            secret=True),
    Setting("TRACKING_MAX_BODY_BYTES", 5 * 1024 * 1024,
            "Largest /api/tracking-ingest/batch body in bytes (413 above it)", as_int),
    Setting("TRACK_CLICK_RATE_LIMIT", "300/minute", "Clicks recorded per visitor address on /track/<id>; past "
            "it the visitor is still redirected but no click is stored"),
    Setting("TRACKING_RATE_LIMIT", "6000/minute",
            "Requests per tracker key on /api/tracking-ingest/batch (429 above it)"),
]
