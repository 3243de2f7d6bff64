"""Settings of the FASTCore leads domain."""

from modules.core.config import Setting, as_bool, as_int, as_list

SETTINGS = [
    Setting("FASTCORE_SITE_INGEST_TOKEN", "", "Bearer tokens accepted by POST /inbound/leads (comma-separated)",
            as_list, secret=True, generate=True),
    Setting("FASTCORE_ADMIN_TOKEN", "", "Bearer tokens accepted by the /admin API (comma-separated)",
            as_list, secret=True, generate=True),
    Setting("FASTCORE_FALLBACK_FILE", "",
            "Append-only file for leads queued while both the database and Redis are down; "
            "empty means instance/fastcore_fallback_queue.jsonl"),
    Setting("SMTP_HOST", "", "SMTP server for lead e-mails; empty keeps e-mails pending"),
    Setting("SMTP_PORT", 587, "SMTP port (465 means implicit TLS)", as_int),
    Setting("SMTP_USER", "", "SMTP user name (empty: no login)"),
    Setting("SMTP_PASSWORD", "", "SMTP password", secret=True),
    Setting("SMTP_TLS", True, "Use STARTTLS on ports other than 465", as_bool),
    Setting("SMTP_TIMEOUT_SECONDS", 15, "Timeout of one SMTP conversation", as_int),
    Setting("FROM_EMAIL", "", "Sender address of lead e-mails"),
    Setting("ADMIN_EMAIL", "", "Address(es) that receive the new-lead alert (comma-separated)", as_list),
]
