"""Request bodies through a real server (gunicorn.conf.py): one byte limit with or without Content-Length,
and a refused body read to its end, so that a client can read the 413 instead of a broken pipe."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
from sqlalchemy import func, select

from modules.core.extensions import db
from modules.sentratech.models import DemoRequest
from tests.support.keys import TEST_KEYS
from tests.support.sentratech import INGEST_HEADERS, valid_body
from tests.support.servers import HubServer

FIVE_MIB = 5 * 1024 * 1024
BIG = 40 * 1024 * 1024


def _stored_demos(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(DemoRequest))


def _chunks(data: bytes, size: int = 64 * 1024):
    """A generator body: requests sends it with Transfer-Encoding: chunked and no Content-Length."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


def _oversized_json(field: str, body: dict) -> bytes:
    return json.dumps({**body, field: "x" * (FIVE_MIB + 1024 * 1024)}).encode()


def test_a_40_mb_body_gets_a_413_its_sender_can_read(served_hub, app):
    answer = requests.post(f"{served_hub.url}/api/ingest/demo_requests", data=b"x" * BIG,
                           headers={**INGEST_HEADERS, "Content-Type": "application/json"}, timeout=60)
    assert answer.status_code == 413
    assert "detail" in answer.json()
    assert _stored_demos(app) == 0


def test_a_40_mb_batch_gets_the_tracking_413(served_hub):
    answer = requests.post(f"{served_hub.url}/api/tracking-ingest/batch", data=b"x" * BIG,
                           headers={"X-API-Key": "test-tracking-key", "Content-Type": "application/json"}, timeout=60)
    assert answer.status_code == 413
    assert answer.json()["success"] is False and answer.json()["error"] == "Request Entity Too Large"


def test_a_40_mb_body_with_a_wrong_key_gets_a_401_its_sender_can_read(served_hub):
    answer = requests.post(f"{served_hub.url}/api/ingest/demo_requests", data=b"x" * BIG,
                           headers={"X-INGEST-KEY": "wrong", "Content-Type": "application/json"}, timeout=60)
    assert answer.status_code == 401
    assert answer.json() == {"detail": "Invalid or missing X-INGEST-KEY"}


@pytest.mark.parametrize("path, headers, field, body", [
    ("/api/ingest/demo_requests", INGEST_HEADERS, "message", valid_body("demo_requests")),
    ("/api/tracking-ingest/batch", {"X-API-Key": "test-tracking-key"}, "padding",
     {"events": [{"tracking_id": "lt_chunked"}]}),
    ("/inbound/leads", {"Authorization": f"Bearer {TEST_KEYS['FASTCORE_SITE_INGEST_TOKEN']}"}, "message",
     {"name": "A", "email": "a@example.com", "consent": True}),
    ("/api/customers/", "operator", "name", {"account_number": "A-1", "phone": "0241234567"}),
    ("/api/v1/sales/start", "operator", "padding", {"user": {}, "lead": {}}),
    ("/api/auth/login", {}, "password", {"email": "a@example.com"}),
])
def test_a_chunked_body_over_the_limit_is_a_413_not_a_truncated_body(served_hub, app, operator_headers, path, headers,
                                                                     field, body):
    """Without Content-Length the same limit holds: before, a 6 MiB chunked body was cut at 5 MiB and the
    cut JSON parsed (a 422, or worse, a stored record)."""
    if headers == "operator":
        headers = operator_headers
    answer = requests.post(served_hub.url + path, data=_chunks(_oversized_json(field, body)),
                           headers={**headers, "Content-Type": "application/json"}, timeout=60)
    assert answer.status_code == 413, answer.text[:300]
    assert _stored_demos(app) == 0


def test_a_chunked_body_within_the_limit_is_stored(served_hub, app):
    body = json.dumps(valid_body("demo_requests", message="m" * 4000)).encode()
    answer = requests.post(f"{served_hub.url}/api/ingest/demo_requests", data=_chunks(body, 512),
                           headers={**INGEST_HEADERS, "Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert _stored_demos(app) == 1


def test_a_chunked_batch_over_the_tracking_limit_is_its_413(served_hub):
    """A view with a limit of its own (TRACKING_MAX_BODY_BYTES) holds chunked bodies to it too, and a body
    of many valid events is refused as a whole, not cut after the last event that fitted."""
    events = [{"tracking_id": "lt_chunked", "user_agent": "u" * 500} for _ in range(12_000)]
    answer = requests.post(f"{served_hub.url}/api/tracking-ingest/batch",
                           data=_chunks(json.dumps({"events": events}).encode()),
                           headers={"X-API-Key": "test-tracking-key", "Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 413
    assert answer.json()["error"] == "Request Entity Too Large"


@pytest.fixture(scope="module")
def tightly_bounded_hub(base_config, migrated):
    """A hub that drains at most 1 MiB of a refused body, for at most 2 s."""
    settings = {key: value for key, value in base_config.items() if key != "TESTING"}
    server = HubServer({**settings, "BODY_DRAIN_MAX_BYTES": 1024 * 1024, "BODY_DRAIN_SECONDS": 2}).wait_until_up()
    yield server
    server.stop()


def _stream_until_refused(url: str, head: bytes, seconds: float) -> tuple[int, bytes]:
    """Send `head`, then body bytes for up to `seconds`; returns (bytes sent, what the server answered)."""
    host, port = url.removeprefix("http://").split(":")
    sent = 0
    with socket.create_connection((host, int(port)), timeout=5) as connection:
        connection.sendall(head)
        block = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                connection.sendall(block)
                sent += len(block)
        except OSError:
            pass
        try:
            answer = connection.recv(65536)
        except OSError:
            answer = b""
    return sent, answer


def test_a_body_that_never_ends_is_read_only_within_the_bounds(tightly_bounded_hub):
    """A chunked stream without end: the server stops reading it past BODY_DRAIN_MAX_BYTES (gunicorn's
    async worker alone would drain it for ever) and the sender's writes fail."""
    head = (b"POST /api/ingest/demo_requests HTTP/1.1\r\nHost: hub\r\nX-INGEST-KEY: wrong\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    sent, _ = _stream_until_refused(tightly_bounded_hub.url, head, seconds=15)
    assert sent < 64 * 1024 * 1024, f"the server read {sent} bytes of a refused body"


@pytest.mark.parametrize("path, headers, body, stored_status", [
    ("/api/ingest/demo_requests", INGEST_HEADERS, valid_body("demo_requests"), 200),
    ("/api/tracking-ingest/batch", {"X-API-Key": "test-tracking-key"}, {"events": [{"tracking_id": "lt_bom"}]}, 200),
    ("/inbound/leads", {"Authorization": f"Bearer {TEST_KEYS['FASTCORE_SITE_INGEST_TOKEN']}"},
     {"name": "A", "email": "a@example.com", "message": "Hello", "consent": False,
      "meta": {"source": "site", "request_id": "6a1f0c7e-5b1e-4c55-9a43-0d7f3c9e2b11", "ip_hash": "h",
               "timestamp_utc": "2026-11-30T10:00:00Z"}}, 201),
])
def test_a_json_body_with_a_byte_order_mark_is_read(client, path, headers, body, stored_status):
    """The replaced backends read JSON with json.loads(bytes), which skips a UTF-8 BOM; PowerShell 5 writes
    one into the files its users post."""
    answer = client.post(path, data=b"\xef\xbb\xbf" + json.dumps(body).encode(), headers=headers,
                         content_type="application/json")
    assert answer.status_code == stored_status, answer.get_json()


def test_a_request_gunicorn_cannot_parse_is_logged_without_what_the_client_sent(served_hub):
    """gunicorn logged a refused header or request line verbatim: keys, tokens and e-mails with it."""
    host, port = served_hub.url.removeprefix("http://").split(":")
    for raw in (b"GET /x HTTP/1.1\r\nHost: x\r\nX-INGEST-KEY leaked-key-value\r\n\r\n",
                b"GET /api/customers/?search=leaked.person@example.org\x00 HTTP/1.1\r\nHost: x\r\n\r\n"):
        with socket.create_connection((host, int(port)), timeout=5) as connection:
            connection.sendall(raw)
            assert connection.recv(1024).startswith(b"HTTP/1.1 400")
    time.sleep(0.5)
    log = served_hub.log_path.read_text(errors="replace")
    assert "Invalid request from" in log
    assert "leaked-key-value" not in log and "leaked.person@example.org" not in log


@pytest.mark.parametrize("body", [b"ZZ\r\nsecret-looking-text\r\n0\r\n\r\n", b"5\r\nab", b"3\r\nabcdef\r\n0\r\n\r\n"])
def test_a_malformed_chunked_body_is_a_400_not_a_500(served_hub, body):
    """A bad chunk size, a body cut short, a chunk longer than it said: the server's errors become the
    domain's 400, and nothing the client sent reaches the log."""
    host, port = served_hub.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"POST /api/ingest/demo_requests HTTP/1.1\r\nHost: hub\r\nX-INGEST-KEY: test-ingest-key\r\n"
                           b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        if body.endswith(b"ab"):
            connection.shutdown(socket.SHUT_WR)  # the client goes away mid-chunk
        answer = connection.recv(4096)
    status = answer.split(b" ", 2)[1] if answer else b""
    assert status in (b"400", b""), answer[:200]  # a client gone mid-body may get no answer at all
    time.sleep(0.3)
    log = served_hub.log_path.read_text(errors="replace")
    assert "secret-looking-text" not in log and "Internal server error" not in log and "Traceback" not in log
