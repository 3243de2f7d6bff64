"""The partners the hub calls, played by real HTTP servers on loopback that can be told to misbehave.

Each peer speaks its partner's protocol (the SentraTech dashboard, Arkesel, DTech) and records every
request it processed under the key that identifies the delivery: the record id of the dashboard's
`Idempotency-Key` (`<record id>:<revision>`), the `ref=` marker the load generator writes into each SMS
text (Arkesel has no idempotency header), and the recording id in the path of a DTech upload URL. A
`Switch` turns a peer from `ok` to `fail` (it answers 503 and processes nothing) or `hang` (it answers
only after the hub's timeout, having processed the request: the case that makes a delivery ambiguous and
tests the idempotency keys).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import ssl
import threading
import time
import uuid
from collections import Counter
from typing import Any

from werkzeug import Request, Response
from werkzeug.serving import make_server

SMS_REF = re.compile(r"ref=([0-9a-f]{32})")
DASHBOARD_TOKEN = "faults-dashboard-token"


class Switch:
    """The peer's current behaviour: ok, fail or hang (thread-safe enough: one word, set atomically)."""

    def __init__(self, hang_seconds: float):
        self.mode = "ok"
        self.hang_seconds = hang_seconds

    def set(self, mode: str) -> None:
        self.mode = mode


class Ledger:
    """Deliveries a peer processed, counted per key, and the protocol problems it saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deliveries: Counter[str] = Counter()
        self.problems: list[str] = []

    def record(self, key: str) -> None:
        with self.lock:
            self.deliveries[key] += 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class HttpPeer:
    """A threaded WSGI server on 127.0.0.1; subclasses answer in `handle` when the switch allows."""

    name = "peer"

    def __init__(self, hang_seconds: float):
        self.switch = Switch(hang_seconds)
        self.ledger = Ledger()
        self.servers: list = []
        self.url = self._serve()

    def _serve(self, ssl_context: ssl.SSLContext | None = None) -> str:
        """Serve `_wsgi` on another loopback port (over TLS with `ssl_context`); returns its base URL."""
        server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, ssl_context=ssl_context)
        self.servers.append(server)
        return f"{'https' if ssl_context else 'http'}://127.0.0.1:{server.server_port}"

    def start(self) -> None:
        for server in self.servers:
            threading.Thread(target=server.serve_forever, name=self.name, daemon=True).start()

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    def set(self, mode: str) -> None:
        self.switch.set(mode)

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        mode = self.switch.mode
        if mode == "fail":
            response = _json({"message": "service unavailable (fault injected)"}, 503)
        else:
            if mode == "hang":
                time.sleep(self.switch.hang_seconds)
            response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        raise NotImplementedError


class DashboardPeer(HttpPeer):
    """SentraTech's dashboard: service-account login, then POST /v1/<type> with Idempotency-Key
    `<record id>:<revision>` (a revision from 1 up)."""

    name = "dashboard"
    FORMS = ("demo_requests", "contact_requests", "roi_reports", "subscriptions")

    def handle(self, request: Request) -> Response:
        if request.method == "POST" and request.path == "/api/auth/login":
            return _json({"access_token": DASHBOARD_TOKEN, "expires_in": 3600})
        form = request.path.removeprefix("/v1/")
        if request.method != "POST" or form not in self.FORMS:
            return _json({"message": "not found"}, 404)
        if request.headers.get("Authorization") != f"Bearer {DASHBOARD_TOKEN}":
            return _json({"message": "unauthorized"}, 401)
        key = request.headers.get("Idempotency-Key", "")
        body = request.get_json(silent=True) or {}
        record_id, _, revision = key.rpartition(":")
        if not record_id or body.get("id") != record_id or not revision.isdigit() or int(revision) < 1:
            self.ledger.problem(f"{form}: Idempotency-Key is not <record id>:<revision>")
        self.ledger.record(record_id)
        return _json({"id": record_id, "status": "stored"}, 201)


class ArkeselPeer(HttpPeer):
    """Arkesel V2: POST /api/v2/sms/send with the api-key header; the key is the text's ref= marker."""

    name = "arkesel"

    def __init__(self, hang_seconds: float, api_key: str):
        super().__init__(hang_seconds)
        self.api_key = api_key

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/api/v2/sms/send":
            return _json({"status": "error", "message": "not found"}, 404)
        if request.headers.get("api-key") != self.api_key:
            return _json({"status": "error", "message": "invalid key"}, 403)
        body = request.get_json(silent=True) or {}
        recipients = body.get("recipients") or []
        found = SMS_REF.search(str(body.get("message", "")))
        if not found or not recipients or not body.get("sender"):
            self.ledger.problem("an SMS without sender, recipients or ref marker")
            return _json({"status": "error", "message": "invalid body"}, 422)
        self.ledger.record(found.group(1))
        return _json({"status": "success",
                      "data": [{"recipient": r, "id": str(uuid.uuid4())} for r in recipients]})


class DTechPeer(HttpPeer):
    """DTech's External Sales API (signatures are not verified) and the storage behind its upload URLs,
    over HTTPS with a certificate `storage_tls` holds (the hub trusts it through DTECH_UPLOAD_CA_FILE), as
    the hub PUTs recordings only to https URLs on DTECH_UPLOAD_HOSTS."""

    name = "dtech"

    def __init__(self, hang_seconds: float, storage_tls: ssl.SSLContext):
        super().__init__(hang_seconds)
        self.storage_url = self._serve(storage_tls)
        self.started = Ledger()  # every sales process this partner started, answered in time or not

    def handle(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if request.method == "PUT" and parts[0] == "upload" and len(parts) == 2:
            return self._upload(parts[1], request)
        if request.method == "POST" and parts[:2] == ["ext", "start"]:
            process_id = f"sp-{uuid.uuid4().hex}"
            self.started.record(process_id)
            return _json({"sales_process_id": process_id, "url": f"{self.url}/agent",
                          "url_expiry": "2099-01-01T00:00:00Z"})
        if request.method == "POST" and parts[:2] == ["ext", "continue"]:
            return _json({"url": f"{self.url}/agent", "url_expiry": "2099-01-01T00:00:00Z"})
        if request.method == "GET" and parts[:2] == ["ext", "status"]:
            return _json({"status": "in_progress"})
        if request.method == "POST" and parts[:2] == ["ext", "stop"]:
            return _json({"status": "stopped"})
        if request.method == "POST" and parts[0] == "recording-url" and len(parts) == 2:
            recording_id = f"rec-{uuid.uuid4().hex}"
            return _json({"recording_id": recording_id, "upload_url": f"{self.storage_url}/upload/{recording_id}"})
        return _json({"message": "not found"}, 404)

    def _upload(self, recording_id: str, request: Request) -> Response:
        content = request.get_data()
        expected = base64.b64encode(hashlib.md5(content, usedforsecurity=False).digest()).decode()
        if request.headers.get("Content-MD5") != expected:
            self.ledger.problem("a recording PUT whose Content-MD5 does not match its body")
            return _json({"message": "BadDigest"}, 400)
        self.ledger.record(recording_id)
        return Response(status=200)
