"""Settings of the FASTCore leads domain."""

from modules.core.config import Setting, as_bool, as_int, as_list

SETTINGS = [
    Setting("FASTCORE_SITE_INGEST_TOKEN", "", "Bearer tokens accepted by POST /inbound/leads (comma-separated)",
            as_list, secret=True, generate=True),
    Setting("FASTCORE_ADMIN_TOKEN", "", "Bearer tokens accepted by the /admin API (comma-separated)",
            as_list, secret=True, generate=True),
    Setting("SMTP_HOST", "", "SMTP server for lead e-mails; empty keeps e-mails pending"),
    Setting("SMTP_PORT", 587, "SMTP port", as_int),
    Setting("SMTP_USER", "", "SMTP user name"),
    Setting("SMTP_PASSWORD", "", "SMTP password", secret=True),
    Setting("SMTP_TLS", True, "Use STARTTLS", as_bool),
    Setting("FROM_EMAIL", "", "Sender address of lead e-mails"),
    Setting("ADMIN_EMAIL", "", "Address that receives the new-lead alert"),
]
