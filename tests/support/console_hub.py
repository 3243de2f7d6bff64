"""The hub as the browser tests meet it: served by gunicorn over HTTP (tests/support/servers.py `HubServer`),
a real worker process delivering the outbox, and the partners played on loopback: SentraTech's dashboard
(faults/peers.py `DashboardPeer`, whose switch makes it fail and then succeed again), DTech's API and its
HTTPS recording storage (tests/support/dtech_partner.py, answering every call of a sale) and Arkesel
(`ArkeselReceipts`: it keeps each SMS with its callback URL, for the test to send the delivery receipt).
The hub knows its public URL (PUBLIC_URL, its port chosen before it starts), so the worker gives Arkesel
a callback URL on it.

A form posted through the ingest API (`post_form`) is stored by the served hub and delivered by the worker
to the dashboard peer, whose ledger counts what it received per record id.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
import trustme
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from faults.peers import DashboardPeer, HttpPeer
from tests.support.dtech import dtech_settings
from tests.support.dtech_partner import STORAGE_HOST, DTechPartner
from tests.support.insight import ARKESEL_KEY, SENDER
from tests.support.sentratech import INGEST_HEADERS, SVC_EMAIL, SVC_PASSWORD, valid_body
from tests.support.servers import HubServer, free_port

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def hub_settings(base_config: dict, dashboard: DashboardPeer, dtech: DTechPartner, arkesel: HttpPeer,
                 recordings_dir: Path) -> dict[str, object]:
    """The test database, Redis and keys, with SentraTech's dashboard, DTech and Arkesel at the local peers,
    and PUBLIC_URL on a free port that `serve_hub` serves on (FASTCore's e-mails have no SMTP server: they
    wait, and the leads pages work without them)."""
    settings = {key: value for key, value in base_config.items() if key != "TESTING"}
    # One retry a second after a failure: a form the dashboard refuses is dead within seconds.
    return {**settings, "PUBLIC_URL": f"http://127.0.0.1:{free_port()}",
            "DASHBOARD_BASE_URL": dashboard.url, "SVC_EMAIL": SVC_EMAIL, "SVC_PASSWORD": SVC_PASSWORD,
            "OUTBOX_BACKOFF_SENTRATECH_DASHBOARD_SYNC": "1", **dtech_settings(dtech, recordings_dir),
            "ARKESEL_API_KEY": ARKESEL_KEY, "ARKESEL_SENDER_ID": SENDER, "ARKESEL_BASE_URL": arkesel.url}


def start_dashboard() -> DashboardPeer:
    peer = DashboardPeer(hang_seconds=0)
    peer.start()
    return peer


@dataclass
class SentSms:
    """An SMS as Arkesel received it: its JSON body (`message`, `recipients`, `callback_url`) and the ids
    Arkesel answered, {recipient: Arkesel id}."""

    body: dict
    ids: dict[str, str]


class ArkeselReceipts(HttpPeer):
    """Arkesel V2's send (POST /api/v2/sms/send with the api-key header) accepting every SMS with a fresh id
    per recipient, kept in `sent`; the test plays Arkesel's delivery receipt to the body's `callback_url`."""

    name = "arkesel"

    def __init__(self) -> None:
        super().__init__(hang_seconds=0)
        self.sent: list[SentSms] = []

    def handle(self, request: Request) -> Response:
        if (request.method, request.path) != ("POST", "/api/v2/sms/send"):
            return Response('{"status": "error", "message": "not found"}', 404, mimetype="application/json")
        if request.headers.get("api-key") != ARKESEL_KEY:
            return Response('{"status": "error", "message": "invalid key"}', 403, mimetype="application/json")
        body = request.get_json(silent=True) or {}
        ids = {recipient: str(uuid.uuid4()) for recipient in body.get("recipients") or []}
        self.sent.append(SentSms(body, ids))
        data = [{"recipient": recipient, "id": arkesel_id} for recipient, arkesel_id in ids.items()]
        return Response(json.dumps({"status": "success", "data": data}), mimetype="application/json")


def start_arkesel() -> ArkeselReceipts:
    peer = ArkeselReceipts()
    peer.start()
    return peer


def start_dtech(ca_file: Path) -> DTechPartner:
    """DTech's API (HTTP) and recording storage (HTTPS, its certificate signed by a CA written to `ca_file`),
    answering every call of a sale with fresh ids (`serve_sales`); `ledger.deliveries[recording_id]` counts
    the recordings stored. `stop()` stops both servers."""
    authority = trustme.CA()
    authority.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(STORAGE_HOST).configure_cert(context)
    partner = DTechPartner(HTTPServer(host="127.0.0.1"), HTTPServer(host=STORAGE_HOST, ssl_context=context),
                           str(ca_file))
    partner.start()
    partner.serve_sales()
    return partner


def serve_hub(settings: dict[str, object], log_path: Path) -> HubServer:
    """The hub under gunicorn on the port of settings' PUBLIC_URL."""
    server = HubServer(settings, log_path=log_path, port=urlsplit(str(settings["PUBLIC_URL"])).port).wait_until_up()
    server.log_path = log_path
    return server


class HubWorker:
    """The hub's worker (tests/support/worker_main.py) in a process of its own session, on `settings`."""

    def __init__(self, settings: dict[str, object], log_path: Path):
        env = {**os.environ, **{key: str(value) for key, value in settings.items()}, "HUB_ENV_FILE": ""}
        self.log = open(log_path, "wb")  # noqa: SIM115 (closed by stop)
        self.process = subprocess.Popen([sys.executable, "-m", "tests.support.worker_main"], cwd=PROJECT_ROOT,
                                        env=env, start_new_session=True, stdout=self.log, stderr=self.log)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def post_form(hub_url: str, form: str, **changes) -> dict:
    """POST a valid SentraTech form (`demo_requests`, `contact_requests`, `roi_reports`, `subscriptions`)
    through the ingest API with its key; `changes` replace fields of the valid body. Returns the JSON
    answer (the stored record, with its `id`); a refusal raises."""
    response = requests.post(f"{hub_url}/api/ingest/{form}", json=valid_body(form, **changes),
                             headers=INGEST_HEADERS, timeout=10)
    response.raise_for_status()
    return response.json()


def wait_for(condition: Callable[[], object], timeout: float = 15.0, what: str = "the condition") -> object:
    """Poll `condition` every 50 ms until it returns something true (returned), or fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)
