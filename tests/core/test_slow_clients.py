"""Slow clients cannot hold the server: with 200 sockets that each send one header line every few
seconds, /health and an ingest still answer within a second (gunicorn.conf.py: gevent workers). With
gunicorn's sync workers four such sockets stopped /health from answering at all. The server still holds
every slow socket while it answers (a peek on each finds no end-of-file); it drops one whose request head
has not arrived within gunicorn's `keepalive` (5 s)."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.serving import make_server

from tests.support.sentratech import INGEST_HEADERS, valid_body
from tests.support.servers import HubServer

SLOW_SOCKETS = 200
PROBE_SECONDS = 8


class SlowClients:
    """`count` connections that started a request and add one header line every `interval` seconds."""

    def __init__(self, url: str, count: int, interval: float = 2.5):
        host, port = url.removeprefix("http://").split(":")
        self.sockets = [socket.create_connection((host, int(port)), timeout=5) for _ in range(count)]
        for connection in self.sockets:
            connection.sendall(b"POST /api/ingest/demo_requests HTTP/1.1\r\nHost: hub\r\n")
        self.interval, self.stopped = interval, threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        line = 0
        while not self.stopped.wait(self.interval):
            line += 1
            for connection in self.sockets:
                try:
                    connection.sendall(b"X-Slow-%d: still typing\r\n" % line)
                except OSError:
                    pass

    def open_at_server(self) -> int:
        """How many of the sockets the server still holds: a peek that finds end-of-file means the server
        closed that one (gunicorn drops a request head that has not arrived within `keepalive` seconds)."""
        held = 0
        for connection in self.sockets:
            timeout = connection.gettimeout()
            connection.settimeout(0)  # a peek that does not wait
            try:
                held += connection.recv(1, socket.MSG_PEEK) != b""
            except BlockingIOError:
                held += 1  # nothing to read and no end-of-file: still open
            except OSError:
                pass
            finally:
                connection.settimeout(timeout)
        return held

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)
        for connection in self.sockets:
            connection.close()


def _timed(call) -> tuple[float, int]:
    started = time.monotonic()
    status = call().status_code
    return time.monotonic() - started, status


def test_200_slow_clients_do_not_stop_health_or_ingest(served_hub, app):
    slow = SlowClients(served_hub.url, SLOW_SOCKETS)
    try:
        answers = [_timed(lambda: requests.get(f"{served_hub.url}/health", timeout=5))]
        held_while_answering = slow.open_at_server()
        deadline = time.monotonic() + PROBE_SECONDS
        while time.monotonic() < deadline:
            answers.append(_timed(lambda: requests.get(f"{served_hub.url}/health", timeout=5)))
            answers.append(_timed(lambda: requests.post(f"{served_hub.url}/api/ingest/demo_requests",
                                                        json=valid_body("demo_requests"), headers=INGEST_HEADERS,
                                                        timeout=5)))
            time.sleep(0.5)
    finally:
        slow.close()
    assert held_while_answering == SLOW_SOCKETS
    assert {status for _, status in answers} == {200}
    slowest = max(seconds for seconds, _ in answers)
    assert slowest < 1, f"the slowest answer took {slowest:.2f} s with {SLOW_SOCKETS} slow clients open"


class SlowPartner:
    """DTech played by a local server that answers every call after `delay` seconds."""

    def __init__(self, delay: float):
        def answer(environ, start_response):
            time.sleep(delay)
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"sales_process_id": "sp-slow", "url": "https://dtech.test/s", "url_expiry": "2030-01-01"}']

        self.server = make_server("127.0.0.1", 0, answer, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def hub_with_a_slow_partner(base_config, migrated):
    partner = SlowPartner(delay=4)
    settings = {key: value for key, value in base_config.items() if key != "TESTING"}
    server = HubServer({**settings, "DIFFERENT_API_BASE": partner.url, "AWS_ACCESS_KEY_ID": "test-access-key",
                        "AWS_SECRET_ACCESS_KEY": "test-secret-key",
                        "DIFFERENT_ACCOUNT_ID": "00000000-0000-4000-8000-000000000001"}, workers=1).wait_until_up()
    yield server
    server.stop()
    partner.server.shutdown()


def test_requests_waiting_for_a_partner_hold_no_database_connection(hub_with_a_slow_partner, operator_headers):
    """The operator is read before DTech is called; a gevent worker serves many such calls at once, so the
    connection goes back to the pool at once: with 20 calls waiting for DTech (more than the pool's 15),
    another operator's request used to wait for the pool and get a 500."""
    url = hub_with_a_slow_partner.url
    start = {"user": {"external_id": "agent-1", "first_name": "A", "last_name": "B", "provider_id": "p"},
             "lead": {"first_name": "C", "last_name": "D", "phone_mobile": "(083) 555-5555", "campaign_code": "c",
                      "lead_origin": "o"}}
    with ThreadPoolExecutor(20) as pool:
        calls = [pool.submit(requests.post, f"{url}/api/v1/sales/start", json=start, headers=operator_headers,
                             timeout=30) for _ in range(20)]
        time.sleep(1.5)
        seconds, status = _timed(lambda: requests.get(f"{url}/api/customers/", headers=operator_headers, timeout=30))
        started = [call.result().status_code for call in calls]
    assert (status, seconds < 2) == (200, True), (status, seconds)
    assert set(started) == {200}
