"""The sweeper: the periodic job that re-enqueues due messages nobody is working on, so a Redis outage,
a lost job or a killed worker only delays delivery. Messages of held destinations (paused, or behind an
open breaker) are left alone; a destination whose breaker may probe gets a drain, which sends the probe."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.outbox import destinations
from modules.core.outbox.delivery import deliver, queue_drain
from modules.core.outbox.handlers import Status
from modules.core.queue import OUTBOX_QUEUE, app_job, enqueue
from modules.core.scheduler import periodic
from modules.core.types import utcnow


@periodic("outbox.sweep", every_seconds=60, name="Re-enqueue due outbox messages")
@app_job
def sweep(now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue pending messages that are due and that no worker holds. Returns how many."""
    now = now or utcnow()
    # Fresh rows are left to the enqueue that follows their commit; a row the sweeper enqueued is not
    # enqueued again before OUTBOX_REQUEUE_SECONDS (its job may simply be waiting in a long queue).
    grace = timedelta(seconds=current_app.config.get("OUTBOX_SWEEP_GRACE_SECONDS", 30))
    requeue_after = timedelta(seconds=current_app.config.get("OUTBOX_REQUEUE_SECONDS", 300))
    gate = destinations.gates(now)
    not_now = gate.held + [kind for name in gate.probe_ready for kind in destinations.kinds_of(name)]
    conditions = [OutboxMessage.status == Status.PENDING, OutboxMessage.next_attempt_at <= now - grace,
                  or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now),
                  or_(OutboxMessage.enqueued_at.is_(None), OutboxMessage.enqueued_at <= now - requeue_after)]
    if not_now:
        conditions.append(OutboxMessage.kind.not_in(not_now))
    due = db.session.execute(
        select(OutboxMessage.id, OutboxMessage.attempts, OutboxMessage.next_attempt_at).where(*conditions)
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
    ).all()
    probing = bool(gate.probe_ready) and queue_drain()
    if not due:
        db.session.commit()
        return int(probing)
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([row.id for row in due]))
                       .values(enqueued_at=now))
    db.session.commit()
    # Never-tried rows that are due now are what a drain takes: one drain job, not a job per row (a backlog
    # behind a busy worker is mostly such rows). Retries and deferred rows get their own job, as scheduled.
    real_now = utcnow()
    for_drain = {row.id for row in due if row.attempts == 0 and row.next_attempt_at <= real_now}
    drained = len(for_drain) if for_drain and queue_drain() else 0
    return drained + sum(enqueue(deliver, row.id, row.attempts, queue=OUTBOX_QUEUE)
                         for row in due if row.id not in for_drain)


