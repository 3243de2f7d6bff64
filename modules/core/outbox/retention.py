"""Retention: the periodic job that deletes delivered messages, and their attempts, once they are older than
OUTBOX_RETENTION_DAYS. Pending and dead messages are never touched (dead ones wait for an operator's
replay or purge, `replaying.py`).

Candidates are found through the index on (status, next_attempt_at), `ix_outbox_due`: a delivered message
was due before it was delivered (next_attempt_at <= delivered_at), so filtering on both finds the old ones
by a range of that index, with no index of their own. They go in batches of OUTBOX_RETENTION_BATCH rows,
each batch its own transaction, at most `max_batches` per run, so a run holds no lock for long and
ends in bounded time; the next run takes what is left.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import ColumnElement, delete, func, select

from modules.core.extensions import db
from modules.core.models import OutboxAttempt, OutboxMessage
from modules.core.outbox.handlers import Status
from modules.core.queue import app_job
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
    batches of OUTBOX_RETENTION_BATCH (each one transaction), at most `max_batches` of them (None: until
    none is left). Returns how many messages were deleted."""
    cutoff = retention_cutoff(now)
    if cutoff is None:
        return 0
    size = current_app.config["OUTBOX_RETENTION_BATCH"]
    if size < 1:
        raise ValueError(f"OUTBOX_RETENTION_BATCH must be at least 1, not {size}")
    deleted = 0
    for _ in range(max_batches) if max_batches is not None else itertools.count():
        batch = _delete_batch(cutoff, size)
        deleted += batch
        if batch < size:
            break
    return deleted


def _expired(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [OutboxMessage.status == Status.DELIVERED.value, OutboxMessage.next_attempt_at < cutoff,
            OutboxMessage.delivered_at < cutoff]


def _delete_batch(cutoff: datetime, size: int) -> int:
    """One transaction: lock up to `size` expired messages (on PostgreSQL skipping rows someone is replaying),
    delete their attempts, then them."""
    ids = db.session.scalars(select(OutboxMessage.id).where(*_expired(cutoff)).order_by(OutboxMessage.next_attempt_at)
                             .limit(size).with_for_update(skip_locked=True)).all()
    if ids:
        db.session.execute(delete(OutboxAttempt).where(OutboxAttempt.outbox_id.in_(ids))
                           .execution_options(synchronize_session=False))
        db.session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids))
                           .execution_options(synchronize_session=False))
    db.session.commit()
    return len(ids)
