"""Every web process writes the leads of its own fallback file to the database once the database answers.

Only a web process writes that file (POST /inbound/leads while the database and Redis are both down),
and the file is on the disk of the machine it runs on. Where web and worker run on different machines
(dynos), the scheduled flush, which runs on a worker, never sees it. So after a request, at most once
per `CHECK_SECONDS` in each process, a web process looks at its own file (a `stat`); when the file
holds leads, the rest runs once the response has been sent (`call_on_close`, no client waits for it):
if a lead is due and the database answers, the file, and only the file, is flushed, under the lock every
flush takes. A web process that serves no request does not look; `POST /admin/queue/flush` answered by
it flushes its file too.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask, Response, current_app
from sqlalchemy import text

from modules.core.extensions import db
from modules.core.types import utcnow
from modules.fastcore import fallback, queue_store
from modules.fastcore.services import DATABASE_DOWN

log = logging.getLogger(__name__)

CHECK_SECONDS = 10


class _Schedule:
    """When this process may look at its file next (one look per `CHECK_SECONDS`, whatever the threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_look = 0.0

    def claim(self) -> bool:
        now = time.monotonic()
        with self.lock:
            if now < self.next_look:
                return False
            self.next_look = now + CHECK_SECONDS
            return True


def init_app(app: Flask) -> None:
    schedule = _Schedule()

    @app.after_request
    def look_at_the_fallback_file(response: Response) -> Response:
        if schedule.claim() and _holds_leads(queue_store.file_store()):
            response.call_on_close(lambda app=current_app._get_current_object(): drain(app))
        return response


def _holds_leads(store: queue_store.FileStore) -> bool:
    try:
        return store.path.stat().st_size > 0
    except OSError:
        return False


def drain(app: Flask) -> fallback.FlushReport | None:
    """Flush this process's fallback file when a lead in it is due and the database answers; None when
    it did not try. Never raises: it runs after a response, where nobody could handle an error."""
    with app.app_context():
        try:
            store, now = queue_store.file_store(), utcnow()
            if not any(fallback.is_due(entry, now) for entry in store.entries()) or not _database_answers():
                return None
            return fallback.flush(now, stores=[store])
        except Exception as exc:  # a look after a response must not break the server; the next look tries again
            log.warning("the fallback file was not flushed", extra={"error": type(exc).__name__})
            return None


def _database_answers() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except DATABASE_DOWN:
        return False
    finally:
        db.session.rollback()
    return True
