"""Settings of the Insight customers domain."""

from modules.core.config import Setting, as_bool, as_int

SETTINGS = [
    Setting("DEFAULT_PHONE_REGION", "GH", "Region used to parse customers' phone numbers"),
    Setting("ARKESEL_API_KEY", "", "Arkesel V2 API key; empty means SMS is not configured", secret=True),
    Setting("ARKESEL_SENDER_ID", "", "Arkesel sender id (at most 11 characters)"),
    Setting("ARKESEL_BASE_URL", "https://sms.arkesel.com", "Arkesel API base URL"),
    Setting("ARKESEL_SANDBOX", False, "Send SMS in Arkesel's sandbox mode", as_bool),
    Setting("ARKESEL_STATUS_TIMEOUT_SECONDS", 5,
            "Timeout of the synchronous Arkesel status look-up behind GET /api/sms/status/<id>", as_int),
    Setting("SMS_RECIPIENTS_PER_HOUR", "1000/hour",
            "SMS recipients an operator may queue (bulk, custom and template sends together); more get 429"),
    Setting("INSIGHT_UPLOAD_MAX_ROWS", 20000, "Most data rows accepted in one spreadsheet or batch", as_int),
]
