"""Settings of the DTech sales domain."""

from modules.core.config import MAX_RETENTION_DAYS, Setting, as_int, as_list, at_least

SETTINGS = [
    Setting("DIFFERENT_API_BASE", "", "Base URL of DTech's External Sales API"),
    Setting("DIFFERENT_ACCOUNT_ID", "", "Default DTech account id (UUID)"),
    Setting("AWS_REGION", "eu-west-1", "Region in DTech's SigV4 signatures"),
    Setting("AWS_ACCESS_KEY_ID", "", "Access key for SigV4 signing (AWS_ACCESS_KEY is also read)", secret=True),
    Setting("AWS_SECRET_ACCESS_KEY", "", "Secret key for SigV4 signing (AWS_SECRET_KEY is also read)", secret=True),
    Setting("AWS_ACCESS_KEY", "", "Alias of AWS_ACCESS_KEY_ID", secret=True),
    Setting("AWS_SECRET_KEY", "", "Alias of AWS_SECRET_ACCESS_KEY", secret=True),
    Setting("DTECH_TIMEOUT_SECONDS", 10, "Timeout of synchronous calls to DTech", as_int),
    Setting("DTECH_PARTNER_CALL_RATE_LIMIT", "60/minute;1200/hour",
            "Synchronous calls to DTech (start, continue, status, stop, recording-url) per operator; more get 429"),
    Setting("DTECH_UPLOAD_HOSTS", ".s3.amazonaws.com,s3.amazonaws.com,.s3.eu-west-1.amazonaws.com,"
            "s3.eu-west-1.amazonaws.com",
            "Hosts DTech's upload URLs may point at (comma-separated); an entry starting with '.' allows the "
            "names under it. The default is S3 in DTech's region, virtual-hosted and path style: not all of "
            ".amazonaws.com, where any AWS customer's API or machine has a name. Others are refused, https only",
            as_list),
    Setting("DTECH_UPLOAD_CA_FILE", "",
            "PEM file of the certificate authorities the recording PUT trusts; empty: the system's"),
    Setting("DTECH_RECORDINGS_DIR", "", "Where a recording being uploaded is spooled until its MD5 is checked (it "
            "is then kept in the database); empty means instance/recordings"),
    Setting("DTECH_MAX_RECORDING_BYTES", 100 * 1024 * 1024, "Largest accepted recording upload", as_int),
    Setting("RECORDINGS_RETENTION_DAYS", 14, "Days a recording whose PUT to DTech failed for good keeps its bytes "
            "(for an operator's replay) before a periodic job deletes them; at least 1",
            at_least(1, MAX_RETENTION_DAYS)),
]
