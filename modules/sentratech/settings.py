"""Settings of the SentraTech ingest domain."""

from modules.core.config import Setting, as_list

SETTINGS = [
    Setting("INGEST_KEY", "", "X-INGEST-KEY values accepted by /api/ingest (comma-separated)",
            as_list, secret=True, generate=True),
    Setting("INGEST_READ_KEY", "", "X-INGEST-KEY values that may also read the latest records on "
            "/api/ingest/<form>/status (comma-separated); keep them out of web pages, unlike INGEST_KEY",
            as_list, secret=True, generate=True),
    Setting("DASHBOARD_BASE_URL", "", "Base URL of the remote dashboard API; empty keeps records pending"),
    Setting("SVC_EMAIL", "", "Service account e-mail used to log in to the dashboard"),
    Setting("SVC_PASSWORD", "", "Service account password for the dashboard", secret=True),
]
