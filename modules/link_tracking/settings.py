"""Settings of the link tracking domain (see modules/core/config.py for how they are read)."""

from typing import Any

from modules.core.config import Setting, as_int, as_list

MAX_RETENTION_MONTHS = 1200  # 100 years, as the core's MAX_RETENTION_DAYS: past it no month start is computable


def months_or_off(value: Any) -> int:
    """A number of months up to MAX_RETENTION_MONTHS; empty or 0 means off."""
    text = str(value if value is not None else "").strip()
    months = int(text) if text else 0
    if not 0 <= months <= MAX_RETENTION_MONTHS:
        raise ValueError(f"{value!r} is not a number of months from 0 to {MAX_RETENTION_MONTHS} (0 or empty: off)")
    return months


def positive_int(value: Any) -> int:
    number = as_int(value)
    if number < 1:
        raise ValueError(f"{value!r} is not a whole number from 1")
    return number


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
    Setting("CLICK_RETENTION_MONTHS", 0, "Keep clicks this many whole months back from the current month; older "
            "months are exported (CLICK_EXPORT_DIR) then dropped, with their rollup and event ids. 0 or empty: keep "
            "every click", months_or_off),
    Setting("CLICK_EXPORT_DIR", "", "Directory where retention writes each dropped month as gzip JSON lines before "
            "dropping it; durable storage (not a dyno's ephemeral disk); empty: dropped without an export"),
    Setting("CLICK_RETENTION_BATCH_SIZE", 10_000, "Rows deleted per transaction by click retention (rollup, event "
            "ids, and clicks on SQLite)", positive_int),
]
