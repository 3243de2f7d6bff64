"""Logs as JSON lines, and one access line per request with a request id.

The access line has method, path (no query string), status, duration and request id: never a body,
a header value, a key, an e-mail or a phone number. The same place counts the request for /metrics
(`metrics.observe_request`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, request

from modules.core import metrics

REQUEST_ID_HEADER = "X-Request-ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

access_log = logging.getLogger("hub.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                "logger": record.name, "message": record.getMessage()}
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(app: Flask) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))


def _start() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response):
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    seconds = time.perf_counter() - g.get("request_started", time.perf_counter())
    metrics.observe_request(response.status_code, seconds)
    duration_ms = round(seconds * 1000, 2)
    access_log.info("request", extra={"request_id": g.get("request_id"), "method": request.method,
                                      "path": request.path, "status": response.status_code,
                                      "duration_ms": duration_ms})
    return response


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
