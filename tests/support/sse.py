"""A console's live stream (`/console/live`) read over a raw socket, for the tests and bench/console_sse.py.

The request is HTTP/1.0, so the answer's body is the stream itself until the server ends it (no chunked
framing to undo), and `close()` drops the connection at once. A thread reads it: `events` gets each
(topic, data) pair, `count` counts them, `blocks` keeps every block (events and comments) as text.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
from urllib.parse import urlsplit


def cookie_header(cookies) -> str:
    """The Cookie header of a requests cookie jar (a signed-in console session)."""
    return "; ".join(f"{cookie.name}={cookie.value}" for cookie in cookies)


class EventStream:
    def __init__(self, base_url: str, cookie: str, topics: str, timeout: float = 10):
        address = urlsplit(base_url)
        self.socket = socket.create_connection((address.hostname, address.port), timeout=timeout)
        self.socket.sendall(f"GET /console/live?topics={topics} HTTP/1.0\r\nHost: {address.netloc}\r\n"
                            f"Accept: text/event-stream\r\nCookie: {cookie}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.socket.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the answer's headers")
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        self.status = int(head[9:12])
        self.socket.settimeout(None)
        self.events: queue.Queue = queue.Queue()
        self.blocks: list[str] = []
        self.count = 0
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._read, args=(rest.decode(),), daemon=True)
        self.thread.start()

    def _read(self, buffer: str) -> None:
        try:
            while True:
                while "\n\n" in buffer:
                    block, buffer = buffer.split("\n\n", 1)
                    self._take(block)
                chunk = self.socket.recv(65536)
                if not chunk:
                    return
                buffer += chunk.decode()
        except OSError:
            return
        finally:
            self.ended.set()

    def _take(self, block: str) -> None:
        self.blocks.append(block)
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":") and ": " in line)
        if "event" in fields:
            self.count += 1
            self.events.put((fields["event"], json.loads(fields["data"])))

    def next_event(self, timeout: float = 10) -> tuple[str, dict]:
        return self.events.get(timeout=timeout)

    def close(self) -> None:
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.socket.close()
