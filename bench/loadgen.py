"""The benchmarks' load generator: N client threads, each on a kept-alive raw socket, writing requests prepared
as bytes and reading answers by Content-Length, until a deadline.

It shares the machine's cores with the hub, so it must cost little: http.client's header building and
parsing cost about 0.3 ms per request, twice what this does. Its CPU is measured as the benchmark
process's own (`time.process_time()`). A client whose connection the server closed (or that failed)
opens a new one; failures are counted, never retried.
"""

from __future__ import annotations

import re
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)")
# A thread woken by its answer should not wait 5 ms (Python's default) for the interpreter lock.
sys.setswitchinterval(0.0005)


def http_request(method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> bytes:
    """An HTTP/1.1 request as bytes, kept alive."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def exchange(connection: socket.socket, request: bytes) -> tuple[int, bool]:
    """Send one request, read its whole answer: (status, whether the server closes the connection)."""
    connection.sendall(request)
    buffer = b""
    while (end := buffer.find(b"\r\n\r\n")) < 0:
        chunk = connection.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the answer's headers")
        buffer += chunk
    head = buffer[:end].lower()
    found = CONTENT_LENGTH.search(head)
    remaining = (int(found.group(1)) if found else 0) - (len(buffer) - end - 4)
    while remaining > 0:
        chunk = connection.recv(min(remaining, 1 << 20))
        if not chunk:
            raise ConnectionError("closed within the answer's body")
        remaining -= len(chunk)
    return int(buffer[9:12]), b"\r\nconnection: close" in head


class Load:
    """What the clients of one phase saw: latencies (seconds) of expected answers after the warm-up, other
    statuses by count, and failures (connection errors, timeouts)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.statuses: Counter[int] = Counter()
        self.failures = 0

    def figures(self, seconds: float) -> dict:
        ordered = sorted(self.latencies)
        return {"requests": len(ordered), "rate": len(ordered) / seconds,
                "p50_ms": statistics.median(ordered) * 1000 if ordered else 0.0,
                "p99_ms": ordered[max(int(len(ordered) * 0.99) - 1, 0)] * 1000 if ordered else 0.0,
                "unexpected": sum(self.statuses.values()), "statuses": dict(self.statuses), "failures": self.failures}


def _client(port: int, next_request: Callable[[], bytes], expect: frozenset[int], measure_from: float,
            deadline: float, load: Load) -> None:
    connection = None
    latencies, statuses, failures = [], Counter(), 0
    while (now := time.monotonic()) < deadline:
        request = next_request()
        started = time.perf_counter()
        try:
            if connection is None:
                connection = socket.create_connection(("127.0.0.1", port), timeout=60)
                connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            status, closing = exchange(connection, request)
        except (OSError, ValueError):
            failures += now >= measure_from
            if connection is not None:
                connection.close()
            connection = None
            time.sleep(0.01)
            continue
        elapsed = time.perf_counter() - started
        if closing:
            connection.close()
            connection = None
        if now < measure_from:
            continue
        if status in expect:
            latencies.append(elapsed)
        else:
            statuses[status] += 1
    if connection is not None:
        connection.close()
    with load.lock:
        load.latencies += latencies
        load.statuses.update(statuses)
        load.failures += failures


def run_clients(port: int, requests: Callable[[int], Callable[[], bytes]], clients: int, seconds: float,
                on_measure_start: Callable[[], None], warmup: float = 1.0, expect: tuple[int, ...] = (200,)) -> Load:
    """`clients` threads load 127.0.0.1:`port` for `warmup` + `seconds`; `requests(n)` gives client n its
    function of the next request's bytes. `on_measure_start` runs when the warm-up ends (to read CPU
    counters); returns when every client has finished its last request."""
    load = Load()
    start = time.monotonic()
    measure_from, deadline = start + warmup, start + warmup + seconds
    threads = [threading.Thread(target=_client, args=(port, requests(n), frozenset(expect), measure_from, deadline,
                                                      load), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(max(measure_from - time.monotonic(), 0))
    on_measure_start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    return load
