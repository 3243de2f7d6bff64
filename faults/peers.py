"""The partners only the fault suite plays, on real HTTP servers on loopback that can be told to misbehave.

Each peer speaks its partner's protocol (the SentraTech dashboard, Arkesel) and records every request it
processed under the key that identifies the delivery: the record id of the dashboard's `Idempotency-Key`
(`<record id>:<revision>`), and the `ref=` marker the load generator writes into each SMS text (Arkesel
has no idempotency header). A `Switch` turns a peer from `ok` to `fail` (it answers 503 and processes
nothing) or `hang` (it answers only after the hub's timeout, having processed the request: the case that
makes a delivery ambiguous and tests the idempotency keys). The SMTP server and DTech, which the tests use
too, are tests/support/smtp.py and tests/support/dtech_partner.py.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

from werkzeug import Request, Response
from werkzeug.serving import make_server

from tests.support.peers import Ledger, Switch

SMS_REF = re.compile(r"ref=([0-9a-f]{32})")
DASHBOARD_TOKEN = "faults-dashboard-token"


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class HttpPeer:
    """A threaded WSGI server on 127.0.0.1; subclasses answer in `handle` when the switch allows."""

    name = "peer"

    def __init__(self, hang_seconds: float):
        self.switch = Switch(hang_seconds)
        self.ledger = Ledger()
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, name=self.name, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def set(self, mode: str) -> None:
        self.switch.set(mode)

    def _wsgi(self, environ, start_response):
        if self.switch.admits():
            response = self.handle(Request(environ))
        else:
            response = _json({"message": "service unavailable (fault injected)"}, 503)
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
    """Arkesel V2: POST /api/v2/sms/send with the api-key header; the key is the text's ref= marker. The balance
    look-up before a bulk send (GET /api/v2/clients/balance-details) finds a balance no run uses up."""

    name = "arkesel"
    BALANCE = {"status": "success", "data": {"sms_balance": "100000000", "main_balance": "GHS 1000000.00"}}

    def __init__(self, hang_seconds: float, api_key: str):
        super().__init__(hang_seconds)
        self.api_key = api_key

    def handle(self, request: Request) -> Response:
        route = (request.method, request.path)
        if route not in {("POST", "/api/v2/sms/send"), ("GET", "/api/v2/clients/balance-details")}:
            return _json({"status": "error", "message": "not found"}, 404)
        if request.headers.get("api-key") != self.api_key:
            return _json({"status": "error", "message": "invalid key"}, 403)
        if request.method == "GET":
            return _json(self.BALANCE)
        body = request.get_json(silent=True) or {}
        recipients = body.get("recipients") or []
        found = SMS_REF.search(str(body.get("message", "")))
        if not found or not recipients or not body.get("sender"):
            self.ledger.problem("an SMS without sender, recipients or ref marker")
            return _json({"status": "error", "message": "invalid body"}, 422)
        self.ledger.record(found.group(1))
        return _json({"status": "success",
                      "data": [{"recipient": r, "id": str(uuid.uuid4())} for r in recipients]})
