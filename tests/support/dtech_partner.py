"""DTech's partner: its External Sales API on a real HTTP server on loopback that checks every SigV4
signature, and its recording storage on a real HTTPS server whose certificate a test CA signed. Both are
pytest-httpserver `HTTPServer`s (the tests pass the `httpserver` fixture as the API).

The partner recomputes each signature with botocore from what it received (method, URL, the headers
named in SignedHeaders, the body and X-Amz-Date) and the shared secret; a request signed with any other
secret gets the 403 API Gateway gives. The upload URLs it hands out point at the storage, as DTech's point
at S3: https, on a host the hub's DTECH_UPLOAD_HOSTS allows, trusted through DTECH_UPLOAD_CA_FILE.

Two ways to play it: a test scripts each answer (`answer`, `answer_start`, `accept_uploads`, ...) and
reads `received`; the fault suite calls `serve_sales()`, after which every call gets DTech's answer with
fresh ids, the switch (tests/support/peers.py) makes the partner fail or hang, and the ledgers count what
reached it: `ledger` the recordings stored per recording id, `started` the sales processes started.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.peers import Ledger, Switch

# Obvious test values, never real credentials.
ACCESS_KEY = "test-dtech-access-key"
SECRET_KEY = "test-dtech-secret-key"
REGION = "eu-west-1"
SALES_PROCESS_ID = "sp-1001"
RECORDING_ID = "rec-2001"
UPLOAD_PATH = f"/storage/recordings/{RECORDING_ID}.wav"
STORAGE_HOST = "127.0.0.1"
SIGNATURE_REFUSED = "The request signature we calculated does not match the signature you provided."
_AUTHORIZATION = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
                            r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<headers>[a-z0-9;-]+), "
                            r"Signature=(?P<signature>[0-9a-f]{64})$")
_UPLOAD = re.compile(r"/storage/recordings/(?P<recording_id>[^/]+)\.wav$")
Handler = Callable[[Request], Response]


def signature_problem(request: Request, credentials: Credentials, region: str) -> str | None:
    """Why the request's SigV4 signature is not valid for `credentials`; None when it is."""
    match = _AUTHORIZATION.match(request.headers.get("Authorization", ""))
    if match is None:
        return "missing or malformed Authorization header"
    if (match["key"], match["region"], match["service"]) != (credentials.access_key, region, "execute-api"):
        return "wrong credential scope"
    amz_date = request.headers.get("X-Amz-Date", "")
    signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    if abs(datetime.now(UTC) - signed_at) > timedelta(minutes=5) or amz_date[:8] != match["date"]:
        return "stale or inconsistent X-Amz-Date"
    signed_headers = {name: request.headers.get(name, "") for name in match["headers"].split(";")}
    received = AWSRequest(method=request.method, url=request.url, data=request.get_data(), headers=signed_headers)
    received.context["timestamp"] = amz_date
    signer = SigV4Auth(credentials, "execute-api", region)
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


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    text = body if isinstance(body, str) else json.dumps(body if body is not None else {})
    return Response(text, status, headers=headers, content_type="application/json")


class DTechPartner:
    """DTech's API on `api` and its storage on `storage` (HTTPS, certificate from the CA in `ca_file`):
    refuses bad signatures, logs every request it processed to either in `received`."""

    name = "dtech"

    def __init__(self, api: HTTPServer, storage: HTTPServer, ca_file: str, access_key: str = ACCESS_KEY,
                 secret_key: str = SECRET_KEY, region: str = REGION, hang_seconds: float = 0.0):
        self.server = api
        self.storage = storage
        self.ca_file = ca_file
        self.credentials = Credentials(access_key, secret_key)
        self.region = region
        self.switch = Switch(hang_seconds)
        self.received: list[Received] = []
        self.ledger = Ledger()  # recordings stored, per recording id (serve_sales)
        self.started = Ledger()  # sales processes started, answered in time or not (serve_sales)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def upload_url(self, recording_id: str = RECORDING_ID) -> str:
        return self.storage.url_for(f"/storage/recordings/{recording_id}.wav") + "?X-Amz-Signature=presigned-by-dtech"

    # Scripted answers (the tests) ----------------------------------------------------------------------

    def answer(self, method: str, path: str, body: Any = None, status: int = 200, oneshot: bool = False,
               check_signature: bool = True, server: HTTPServer | None = None,
               headers: dict[str, str] | None = None) -> None:
        """Answer `method path` with `body` (JSON unless a str) and `status`: every time, or once."""
        self._expect(method, path, lambda _request: _json(body, status, headers), oneshot=oneshot,
                     check_signature=check_signature, server=server)

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

    # DTech under load (the fault suite) ----------------------------------------------------------------

    def serve_sales(self) -> None:
        """Answer every call of a sale as DTech does, with a fresh sales process and recording id each."""
        self._expect("POST", re.compile(r"/ext/start$"), self._start)
        self._expect("POST", re.compile(r"/ext/continue/[^/]+$"),
                     lambda _request: _json({"url": f"{self.base_url}/agent", "url_expiry": "2099-01-01T00:00:00Z"}))
        self._expect("GET", re.compile(r"/ext/status/[^/]+/[^/]+$"), lambda _request: _json({"status": "in_progress"}))
        self._expect("POST", re.compile(r"/ext/stop/[^/]+$"), lambda _request: _json({"status": "stopped"}))
        self._expect("POST", re.compile(r"/recording-url/[^/]+$"), self._recording_url)
        self._expect("PUT", _UPLOAD, self._store_upload, check_signature=False, server=self.storage)

    def _start(self, _request: Request) -> Response:
        process_id = f"sp-{uuid.uuid4().hex}"
        self.started.record(process_id)
        return _json({"sales_process_id": process_id, "url": f"{self.base_url}/agent",
                      "url_expiry": "2099-01-01T00:00:00Z"})

    def _recording_url(self, _request: Request) -> Response:
        recording_id = f"rec-{uuid.uuid4().hex}"
        return _json({"recording_id": recording_id, "upload_url": self.upload_url(recording_id)})

    def _store_upload(self, request: Request) -> Response:
        content = request.get_data()
        expected = base64.b64encode(hashlib.md5(content, usedforsecurity=False).digest()).decode()
        if request.headers.get("Content-MD5") != expected:
            self.ledger.problem("a recording PUT whose Content-MD5 does not match its body")
            return _json({"message": "BadDigest"}, 400)
        self.ledger.record(_UPLOAD.match(request.path)["recording_id"])
        return Response(status=200)

    def set(self, mode: str) -> None:
        self.switch.set(mode)

    def start(self) -> None:
        for server in (self.server, self.storage):
            if not server.is_running():
                server.start()

    def stop(self) -> None:
        for server in (self.server, self.storage):
            if server.is_running():
                server.stop()

    # Every request ---------------------------------------------------------------------------------------

    def _expect(self, method: str, path: str | re.Pattern, respond: Handler, oneshot: bool = False,
                check_signature: bool = True, server: HTTPServer | None = None) -> None:
        server = server or self.server
        expect = server.expect_oneshot_request if oneshot else server.expect_request
        expect(path, method=method).respond_with_handler(lambda request: self._serve(request, respond,
                                                                                     check_signature))

    def _serve(self, request: Request, respond: Handler, check_signature: bool) -> Response:
        if not self.switch.admits():
            return _json({"message": "service unavailable (fault injected)"}, 503)
        problem = signature_problem(request, self.credentials, self.region) if check_signature else None
        self.received.append(Received(request.method, request.path, request.query_string.decode(),
                                      dict(request.headers), request.get_data(), problem))
        if problem:
            self.ledger.problem(f"a {request.method} /{request.path.split('/')[1]}/... refused: {problem}")
            return _json({"message": SIGNATURE_REFUSED}, 403)
        return respond(request)
