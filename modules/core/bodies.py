"""Request bodies: one byte limit whether or not a Content-Length was sent, and a refused body read to
its end before the connection closes, so that the client can read the refusal.

Two faults of the stack underneath, fixed here once for every endpoint:

- Werkzeug holds a chunked body (no Content-Length) to `max_content_length` by *stopping* at the limit:
  the body is silently cut and the cut JSON parsed. `HubRequest.stream` instead raises 413 as soon as
  a chunked body grows past the request's limit (MAX_CONTENT_LENGTH, or the view's own, e.g.
  TRACKING_MAX_BODY_BYTES or the recording limit).
- A server that answers before reading the body (a 413 decided from Content-Length, a 401 decided from
  a header) and then closes the socket makes the kernel reset the connection while the client is still
  sending: the client sees a broken pipe, never the 413, and a batch sender retries the same oversized
  batch for ever instead of splitting it. `DrainUnreadBody` reads what is left of the body (at most
  BODY_DRAIN_MAX_BYTES, for at most BODY_DRAIN_SECONDS) and throws it away before the answer is sent.
  Past those bounds it stops reading the socket altogether: gunicorn's async workers would otherwise
  drain a kept-alive connection's body without any bound (a client streaming for ever).
"""

from __future__ import annotations

import codecs
import io
import logging
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.utils import cached_property
from werkzeug.wsgi import get_input_stream

log = logging.getLogger(__name__)
DRAIN_BLOCK = 64 * 1024


class CappedInput(io.RawIOBase):
    """A stream that ends in 413 as soon as more than `limit` bytes came from `source`, and in 400 when
    `source` fails (the client went away mid-body, or sent a malformed chunk)."""

    def __init__(self, source: Any, limit: int):
        super().__init__()
        self.source, self.limit, self.received = source, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.received > self.limit:
            raise RequestEntityTooLarge()
        try:
            data = self.source.read(min(len(buffer), self.limit + 1 - self.received))
        except Exception:  # noqa: BLE001  (the server's own errors: a client gone, a malformed chunk)
            # Its message may quote the client's bytes: neither it nor a traceback goes to the log.
            raise BadRequest("The request body ended early or its chunked encoding is malformed.") from None
        size = len(data)
        buffer[:size] = data
        self.received += size
        if self.received > self.limit:
            raise RequestEntityTooLarge()
        return size


class HubRequest(Request):
    """Flask's request, with a chunked body held to the request's byte limit (see the module), and a JSON
    body's UTF-8 byte order mark dropped: the backends the hub replaced read JSON with `json.loads(bytes)`,
    which skips it, and real clients send one (PowerShell 5 writes it into files posted with curl)."""

    def get_data(self, cache: bool = True, as_text: bool = False, parse_form_data: bool = False) -> Any:
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        if data.startswith(codecs.BOM_UTF8) and self.is_json:
            data = data[len(codecs.BOM_UTF8):]
        return data.decode(errors="replace") if as_text else data

    @cached_property
    def stream(self) -> Any:
        if self.content_length is None and self.environ.get("wsgi.input_terminated") \
                and self.max_content_length is not None:
            return CappedInput(self.environ["wsgi.input"], self.max_content_length)
        return get_input_stream(self.environ, max_content_length=self.max_content_length)


class CountingInput:
    """The server's input stream, counting the bytes the application took from it."""

    def __init__(self, source: Any):
        self.source, self.taken = source, 0

    def read(self, size: int | None = -1) -> bytes:
        data = self.source.read() if size is None or size < 0 else self.source.read(size)
        self.taken += len(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = self.source.readline() if size is None or size < 0 else self.source.readline(size)
        self.taken += len(data)
        return data

    def __iter__(self):
        return iter(self.readline, b"")


class DrainUnreadBody:
    """WSGI middleware (see the module): after the application answered, read and discard the rest of
    the request body, up to `max_bytes` and `max_seconds`. A body announced larger than `max_bytes` is
    not read at all: its sender will see the connection close early."""

    def __init__(self, app: Callable, max_bytes: int, max_seconds: float):
        self.app, self.max_bytes, self.max_seconds = app, max_bytes, max_seconds

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        counted = environ["wsgi.input"] = CountingInput(environ["wsgi.input"])
        answer = self.app(environ, start_response)
        if not self._finished(environ, counted):
            _stop_reading(environ)
        return answer

    def _finished(self, environ: dict[str, Any], counted: CountingInput) -> bool:
        """Whether the body was read to its end, by the application or here, within the bounds."""
        declared = environ.get("CONTENT_LENGTH")
        if declared:
            try:
                left = int(declared) - counted.taken
            except ValueError:
                return False
            return left <= 0 or (left <= self.max_bytes and self._drained(environ, counted.source, left))
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            # Its end is unknown: read until it comes, at most one byte past the bound.
            return self._drained(environ, counted.source, self.max_bytes + 1, until_end=True)
        return True

    def _drained(self, environ: dict[str, Any], source: Any, left: int, until_end: bool = False) -> bool:
        """Read and discard `left` bytes (or, `until_end`, until the body ends, fewer than `left`) within
        the time bound; True when the body was read to its end."""
        deadline = time.monotonic() + self.max_seconds
        sock = environ.get("gunicorn.socket")
        timeout = sock.gettimeout() if sock is not None else None
        drained, at_end, ended = 0, False, False
        try:
            while drained < left and (remaining := deadline - time.monotonic()) > 0:
                if sock is not None:
                    sock.settimeout(remaining)
                block = source.read(min(DRAIN_BLOCK, left - drained))
                if not block:
                    at_end = True
                    break
                drained += len(block)
            ended = at_end if until_end else drained == left
        except Exception as exc:  # noqa: BLE001  (a client gone or malformed chunks: the answer goes out anyway)
            log.debug("unread request body not drained", extra={"error": type(exc).__name__})
        finally:
            if sock is not None:
                sock.settimeout(timeout)
        if drained:
            log.info("unread request body drained", extra={"bytes": drained, "whole": ended})
        return ended


def _stop_reading(environ: dict[str, Any]) -> None:
    """The body is past the drain bounds: the server reads no more of this connection (and closes it
    after the answer), instead of draining it without end."""
    sock = environ.get("gunicorn.socket")
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass


def init_app(app: Any) -> None:
    app.request_class = HubRequest
    app.wsgi_app = DrainUnreadBody(app.wsgi_app, int(app.config["BODY_DRAIN_MAX_BYTES"]),
                                   float(app.config["BODY_DRAIN_SECONDS"]))
