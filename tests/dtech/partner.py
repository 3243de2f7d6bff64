"""DTech's partner, played by a real HTTP server on loopback that checks every SigV4 signature, and its
recording storage, a real HTTPS server on loopback whose certificate a test CA signed.

The peer recomputes each signature with botocore from what it received (method, URL, the headers
named in SignedHeaders, the body and X-Amz-Date) and the shared test secret; a request signed with
any other secret gets the 403 API Gateway gives. The upload URLs it hands out point at the storage,
as DTech's point at S3: https, on a host the hub's DTECH_UPLOAD_HOSTS allows, trusted through
DTECH_UPLOAD_CA_FILE (the test CA's certificate).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug import Request, Response

# Obvious test values, never real credentials.
ACCESS_KEY = "test-dtech-access-key"
SECRET_KEY = "test-dtech-secret-key"
REGION = "eu-west-1"
ACCOUNT_ID = "0b4f6a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
OTHER_ACCOUNT_ID = "9e8d7c6b-5a49-4382-9170-f6e5d4c3b2a1"
SALES_PROCESS_ID = "sp-1001"
RECORDING_ID = "rec-2001"
UPLOAD_PATH = "/storage/recordings/rec-2001.wav"
STORAGE_HOST = "127.0.0.1"
SIGNATURE_REFUSED = "The request signature we calculated does not match the signature you provided."
_AUTHORIZATION = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
                            r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), "
                            r"Signature=(?P<signature>[0-9a-f]{64})$")

AUDIO = b"RIFF....WAVEfmt " + bytes(range(256)) * 40
AUDIO_MD5 = hashlib.md5(AUDIO).hexdigest()


def signature_problem(request: Request) -> str | None:
    """Why the request's SigV4 signature is not valid for the shared secret; None when it is."""
    match = _AUTHORIZATION.match(request.headers.get("Authorization", ""))
    if match is None:
        return "missing or malformed Authorization header"
    if (match["key"], match["region"], match["service"]) != (ACCESS_KEY, REGION, "execute-api"):
        return "wrong credential scope"
    amz_date = request.headers.get("X-Amz-Date", "")
    signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if abs(datetime.now(UTC) - signed_at) > timedelta(minutes=5) or amz_date[:8] != match["date"]:
        return "stale or inconsistent X-Amz-Date"
    signed_headers = {name: request.headers.get(name, "") for name in match["headers"].split(";")}
    received = AWSRequest(method=request.method, url=request.url, data=request.get_data(), headers=signed_headers)
    received.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "execute-api", REGION)
    expected = signer.signature(signer.string_to_sign(received, signer.canonical_request(received)), received)
    return None if hmac.compare_digest(expected, match["signature"]) else "signature mismatch"


@dataclass
class Received:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    signature_problem: str | None

    def json(self) -> Any:
        return json.loads(self.body)


class Partner:
    """DTech's API on `httpserver` and its storage on `storage` (HTTPS, certificate from the CA in
    `ca_file`): answers what a test sets, refuses bad signatures, logs every request to either."""

    def __init__(self, httpserver, storage, ca_file: str):
        self.server = httpserver
        self.storage = storage
        self.ca_file = ca_file
        self.received: list[Received] = []

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def upload_url(self) -> str:
        return self.storage.url_for(UPLOAD_PATH) + "?X-Amz-Signature=presigned-by-dtech"

    def answer(self, method: str, path: str, body: Any = None, status: int = 200, oneshot: bool = False,
               check_signature: bool = True, server=None, headers: dict[str, str] | None = None) -> None:
        server = server or self.server
        expect = server.expect_oneshot_request if oneshot else server.expect_request

        def respond(request: Request) -> Response:
            problem = signature_problem(request) if check_signature else None
            self.received.append(Received(request.method, request.path, request.query_string.decode(),
                                          dict(request.headers), request.get_data(), problem))
            if problem:
                return Response(json.dumps({"message": SIGNATURE_REFUSED}), 403, content_type="application/json")
            answer = body if isinstance(body, str) else json.dumps(body if body is not None else {})
            return Response(answer, status, headers=headers, content_type="application/json")

        expect(path, method=method).respond_with_handler(respond)

    def answer_start(self) -> None:
        self.answer("POST", "/ext/start", {"sales_process_id": SALES_PROCESS_ID, "url": "https://dtech.test/s/1001",
                                           "url_expiry": "2026-11-22T09:00:00Z", "extra": "dropped"})

    def answer_recording_url(self, upload_url: str | None = None, oneshot: bool = False) -> None:
        self.answer("POST", f"/recording-url/{SALES_PROCESS_ID}",
                    {"recording_id": RECORDING_ID, "upload_url": upload_url or self.upload_url()}, oneshot=oneshot)

    def accept_uploads(self, status: int = 200, oneshot: bool = False, body: Any = None,
                       headers: dict[str, str] | None = None) -> None:
        """The storage's answer to the PUT of a recording (unsigned: the URL carries its signature)."""
        self.answer("PUT", UPLOAD_PATH, body if body is not None else {}, status=status, oneshot=oneshot,
                    check_signature=False, server=self.storage, headers=headers)

    def calls(self, path_prefix: str = "") -> list[Received]:
        return [r for r in self.received if r.path.startswith(path_prefix)]


LEAD = {"first_name": "Thandi", "last_name": "Mokoena", "phone_mobile": "(083) 555-0142",
        "campaign_code": "FUNERAL-2026", "lead_origin": "inbound-call", "email": "thandi@example.com"}
USER = {"external_id": "agent-17", "first_name": "Sipho", "last_name": "Dube", "provider_id": "provider-3"}
START_BODY = {"account_id": ACCOUNT_ID, "user": USER, "lead": LEAD}
RECORDING_BODY = {"account_id": ACCOUNT_ID, "date_start": "2026-11-22T08:00:00Z", "date_end": "2026-11-22T08:12:30Z",
                  "recording_hash": AUDIO_MD5, "filename": "call-1001.wav", "content_type": "audio/wav",
                  "external_ref": "crm-55"}


def multipart(content: bytes, name: str = "file") -> dict[str, Any]:
    return {name: (io.BytesIO(content), "call-1001.wav", "audio/wav")}


def dtech_settings(partner: Partner, recordings_dir, **overrides) -> dict[str, Any]:
    return {"DIFFERENT_API_BASE": partner.base_url, "DIFFERENT_ACCOUNT_ID": ACCOUNT_ID,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION,
            "DTECH_RECORDINGS_DIR": str(recordings_dir), "DTECH_UPLOAD_HOSTS": STORAGE_HOST,
            "DTECH_UPLOAD_CA_FILE": partner.ca_file, **overrides}
