"""Settings of the Insight customers domain."""

from modules.core.config import MAX_RETENTION_DAYS, Setting, as_bool, as_int, at_least

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
    Setting("SMS_DAILY_SEGMENT_CAP", 10000, "SMS segments (parts, times recipients) the whole hub may queue per UTC "
            "day; a send over it is refused with 429 until midnight UTC; 0: no cap", as_int),
    Setting("SMS_DAILY_SEGMENT_CAP_PER_OPERATOR", 2000, "SMS segments each operator may queue per UTC day; 0: no cap",
            as_int),
    Setting("INSIGHT_SMS_RETENTION_DAYS", 365, "SMS (recipients' numbers and text) are deleted this many days after "
            "they were queued, except those still queued; their status look-up is then a 404, and the customers' "
            "`sms_sent` actions stay. 0: kept forever", at_least(0, MAX_RETENTION_DAYS)),
    Setting("INSIGHT_SMS_USAGE_RETENTION_DAYS", 31, "Daily SMS usage counters (what the daily caps count against) "
            "are deleted this many days after their UTC day; 0: kept forever", at_least(0, MAX_RETENTION_DAYS)),
    Setting("INSIGHT_UPLOAD_MAX_ROWS", 20000, "Most data rows accepted in one spreadsheet (blank rows count) or batch",
            as_int),
    Setting("INSIGHT_MAX_UNZIPPED_BYTES", 50_000_000,
            "Most bytes a spreadsheet may hold once unpacked (an .xlsx's parts together, a .csv as is)", as_int),
    Setting("INSIGHT_MAX_CELL_CHARS", 32_767, "Most characters in one spreadsheet cell (Excel's own limit)", as_int),
    Setting("INSIGHT_MAX_CELLS", 200_000, "Most cells (blank ones count) and shared strings read from one .xlsx "
            "(20,000 rows of 10 columns); its XML may hold four elements a cell", as_int),
]
