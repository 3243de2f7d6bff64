"""The fallback queue's life: flush to the database, statistics, replay of dead leads, clear.

A queued lead is tried at each flush once it is due. A failed attempt counts against it and pushes
its next attempt back (FASTCORE_FALLBACK_BACKOFF: 5 minutes, then 30); after the third failure it is
dead: kept, shown under retry count "3", and tried again only once replayed. When the database is down, every due lead
counts that failure without another connection attempt. Failures are kept in the entry and written
to the audit log with the lead when it finally lands (while the database is down they cannot be).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from modules.core import audit
from modules.core.extensions import db
from modules.core.redis_client import REDIS_ERRORS, get_redis
from modules.core.types import isoformat, utcnow
from modules.fastcore import queue_store
from modules.fastcore.models import DOMAIN
from modules.fastcore.queue_store import Entry
from modules.fastcore.services import DATABASE_DOWN, write_queued_lead

log = logging.getLogger(__name__)

MAX_FAILURES = 3
FLUSH_LOCK_KEY = "fastcore:fallback:flush-lock"
FLUSH_LOCK_SECONDS = 600


@dataclass
class FlushReport:
    flushed: int = 0
    duplicates: int = 0
    failed: int = 0
    dead: int = 0
    remaining: int = 0
    already_running: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def is_dead(entry: Entry) -> bool:
    return entry["retry_count"] >= MAX_FAILURES


def is_due(entry: Entry, now: datetime) -> bool:
    return not is_dead(entry) and datetime.fromisoformat(entry["next_attempt_at"]) <= now


def _count_failure(entry: Entry, error: str, now: datetime) -> None:
    entry["retry_count"] += 1
    entry["failures"].append({"at": isoformat(now), "error": error})
    if not is_dead(entry):
        backoff = current_app.config["FASTCORE_FALLBACK_BACKOFF"]  # after the first failure, the second...
        delay = backoff[min(entry["retry_count"], len(backoff)) - 1]
        entry["next_attempt_at"] = isoformat(now + timedelta(seconds=delay))


@contextmanager
def _flush_lock() -> Iterator[bool]:
    """One flush at a time where Redis answers; without Redis the file lock and the unique request_id
    keep concurrent flushes correct."""
    try:
        lock = get_redis().lock(FLUSH_LOCK_KEY, timeout=FLUSH_LOCK_SECONDS)
        acquired = lock.acquire(blocking=False)
    except REDIS_ERRORS:
        yield True
        return
    try:
        yield acquired
    finally:
        if acquired:
            try:
                lock.release()
            except REDIS_ERRORS:
                log.warning("could not release the flush lock; it expires on its own")


WRITTEN = ("flushed", "already_stored", "duplicate")


class _FlushRun:
    """One pass over the stores. Once the database proves unreachable, the remaining due leads count
    that failure without another connection attempt."""

    def __init__(self, now: datetime):
        self.now = now
        self.report = FlushReport()
        self.database_error: str | None = None

    def _write(self, entry: Entry, store_name: str) -> str:
        """flushed, already_stored, duplicate, or why the write failed."""
        if self.database_error:
            return self.database_error
        try:
            return write_queued_lead(entry, store_name)
        except DATABASE_DOWN as exc:
            db.session.rollback()
            self.database_error = f"database unavailable: {type(exc).__name__}"
            return self.database_error
        except SQLAlchemyError as exc:
            db.session.rollback()
            return f"write failed: {type(exc).__name__}"

    def drain(self, store: queue_store.Store) -> None:
        updated, removed = [], []
        for entry in store.entries():
            if not is_due(entry, self.now):
                continue
            outcome = self._write(entry, store.name)
            if outcome in WRITTEN:
                removed.append(entry)
                if outcome == "duplicate":
                    self.report.duplicates += 1
                else:
                    self.report.flushed += 1
                continue
            _count_failure(entry, outcome, self.now)
            updated.append(entry)
            self.report.failed += 1
            self.report.dead += is_dead(entry)
            log.warning("queued lead not written", extra={"lead_id": queue_store.lead_id(entry),
                                                          "retry_count": entry["retry_count"]})
        store.apply(updated, removed)


def flush(now: datetime | None = None, stores: list[queue_store.Store] | None = None) -> FlushReport:
    """Write every due queued lead of `stores` (default: every reachable store) to the database."""
    with _flush_lock() as acquired:
        if not acquired:
            return FlushReport(already_running=True)
        run = _FlushRun(now or utcnow())
        chosen = queue_store.reachable_stores() if stores is None else stores
        for store in chosen:
            run.drain(store)
        run.report.remaining = sum(len(store.entries()) for store in chosen)
    if run.report.flushed or run.report.failed or run.report.duplicates:
        log.info("fallback queue flushed", extra=run.report.as_dict())
    return run.report


def stats(now: datetime | None = None) -> dict[str, Any]:
    entries = [entry for store in queue_store.reachable_stores() for entry in store.entries()]
    by_retry_count = {str(count): 0 for count in range(MAX_FAILURES + 1)}
    for entry in entries:
        by_retry_count[str(min(entry["retry_count"], MAX_FAILURES))] += 1
    oldest = min((entry["queued_at"] for entry in entries), key=datetime.fromisoformat, default=None)
    return {"queue_size": len(entries), "oldest_form": oldest, "by_retry_count": by_retry_count,
            "timestamp": isoformat(now or utcnow())}


def stats_by_store() -> dict[str, int | None]:
    """Entries per store; None for Redis when it does not answer (for the CLI)."""
    redis_store = queue_store.redis_store()
    return {"redis": len(redis_store.entries()) if redis_store else None,
            "file": len(queue_store.file_store().entries())}


def _audited_change(event_name: str, actor: str, select_entries, change) -> int:
    """Audit first (committed), then change exactly the entries named in the audit entry: an operator
    never removes or revives leads that the audit log does not show."""
    chosen = [(store, [entry for entry in store.entries() if select_entries(entry)])
              for store in queue_store.reachable_stores()]
    lead_ids = [queue_store.lead_id(entry) for _, entries in chosen for entry in entries]
    audit.record(DOMAIN, event_name, actor=actor, status_code=200, details={"count": len(lead_ids),
                                                                            "lead_ids": lead_ids})
    db.session.commit()
    for store, entries in chosen:
        change(store, entries)
    return len(lead_ids)


def clear(actor: str) -> int:
    """Remove every queued lead, dead or not. Returns how many."""
    return _audited_change("queue.cleared", actor, lambda _entry: True,
                           lambda store, entries: store.apply([], entries))


def replay(actor: str, now: datetime | None = None) -> int:
    """Give dead leads a fresh set of attempts, due now. Returns how many."""
    now = now or utcnow()

    def revive(store, entries):
        for entry in entries:
            entry.update(retry_count=0, next_attempt_at=isoformat(now))
        store.apply(entries, [])

    return _audited_change("queue.replayed", actor, is_dead, revive)
