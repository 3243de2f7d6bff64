"""Settings of the FASTCore leads domain."""

from modules.core.config import Setting, as_backoff, as_list

SETTINGS = [
    Setting("FASTCORE_SITE_INGEST_TOKEN", "", "Bearer tokens accepted by POST /inbound/leads (comma-separated)",
            as_list, secret=True, generate=True),
    Setting("FASTCORE_ADMIN_TOKEN", "", "Bearer tokens accepted by the /admin API (comma-separated)",
            as_list, secret=True, generate=True),
    Setting("FASTCORE_FALLBACK_FILE", "",
            "Append-only file for leads queued while both the database and Redis are down; "
            "empty means instance/fastcore_fallback_queue.jsonl"),
    Setting("FASTCORE_FALLBACK_BACKOFF", "300,1800", "Seconds a queued lead waits for its next flush after its "
            "first and its second failed one (the third makes it dead, kept for an operator's replay)", as_backoff),
]
