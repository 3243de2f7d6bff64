"""Retention: the periodic job that deletes delivered messages, and their attempts, once they are older than
OUTBOX_RETENTION_DAYS. Pending and dead messages are never touched (dead ones wait for an operator's
replay or purge, `replaying.py`).

Candidates are found through the index on (status, next_attempt_at), `ix_outbox_due`: a delivered message
was due before it was delivered (next_attempt_at <= delivered_at), so filtering on both finds the old ones
by a range of that index, with no index of their own. They go in batches of OUTBOX_RETENTION_BATCH rows
through `modules.core.retention.delete_older_than`: attempts then messages, each batch its own transaction,
at most `max_batches` per run, so a run holds no lock for long and ends in bounded time; the next run takes
what is left. Unlike the other retention jobs it writes no audit row (its behaviour since issue 15).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, func, select

from modules.core.extensions import db
from modules.core.models import OutboxAttempt, OutboxMessage
from modules.core.outbox.handlers import Status
from modules.core.queue import app_job
from modules.core.retention import delete_older_than
from modules.core.scheduler import periodic
from modules.core.types import utcnow

MAX_BATCHES = 100  # per run of the periodic job: 100,000 rows at the default batch size


def retention_cutoff(now: datetime | None = None) -> datetime | None:
    """Delivered messages delivered before this go; None when OUTBOX_RETENTION_DAYS is 0 (keep forever; a
    negative value deletes nothing either)."""
    days = current_app.config["OUTBOX_RETENTION_DAYS"]
    return (now or utcnow()) - timedelta(days=days) if days > 0 else None


def expired_count(now: datetime | None = None) -> int:
    """How many delivered messages are past the retention window now (what a purge would delete)."""
    cutoff = retention_cutoff(now)
    if cutoff is None:
        return 0
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(*_expired(cutoff)))


@periodic("outbox.retention", every_seconds=300, name="Delete delivered outbox messages past OUTBOX_RETENTION_DAYS")
@app_job
def purge_delivered(now: datetime | None = None, max_batches: int | None = MAX_BATCHES) -> int:
    """Delete delivered messages older than the retention window and their attempts, oldest first, in
    batches of OUTBOX_RETENTION_BATCH (each one transaction; on PostgreSQL skipping rows someone is
    replaying), at most `max_batches` of them (None: until none is left). Returns how many messages were
    deleted."""
    cutoff = retention_cutoff(now)
    if cutoff is None:
        return 0
    size = current_app.config["OUTBOX_RETENTION_BATCH"]
    if size < 1:
        raise ValueError(f"OUTBOX_RETENTION_BATCH must be at least 1, not {size}")
    return delete_older_than(OutboxMessage, OutboxMessage.next_attempt_at, cutoff, size,
                             where=_delivered_before(cutoff), children=[OutboxAttempt.outbox_id],
                             max_batches=max_batches)


def _expired(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [OutboxMessage.next_attempt_at < cutoff, *_delivered_before(cutoff)]


def _delivered_before(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [OutboxMessage.status == Status.DELIVERED.value, OutboxMessage.delivered_at < cutoff]
