"""Slow clients cannot hold the server: with 200 sockets that each send one header line every few
seconds, /health and an ingest still answer within a second (gunicorn.conf.py: gevent workers). With
gunicorn's sync workers four such sockets stopped /health from answering at all."""

from __future__ import annotations

import socket
import threading
import time

import requests

from tests.sentratech.conftest import INGEST_HEADERS, valid_body

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
        answers = []
        deadline = time.monotonic() + PROBE_SECONDS
        while time.monotonic() < deadline:
            answers.append(_timed(lambda: requests.get(f"{served_hub.url}/health", timeout=5)))
            answers.append(_timed(lambda: requests.post(f"{served_hub.url}/api/ingest/demo_requests",
                                                        json=valid_body("demo_requests"), headers=INGEST_HEADERS,
                                                        timeout=5)))
            time.sleep(0.5)
        still_open = sum(1 for connection in slow.sockets if connection.fileno() != -1)
    finally:
        slow.close()
    assert still_open == SLOW_SOCKETS
    assert {status for _, status in answers} == {200}
    slowest = max(seconds for seconds, _ in answers)
    assert slowest < 1, f"the slowest answer took {slowest:.2f} s with {SLOW_SOCKETS} slow clients open"
