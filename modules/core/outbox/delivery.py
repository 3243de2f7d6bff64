"""Delivery: drains that claim due messages one at a time, one attempt each, retries on the backoff.

Once a transaction that added messages commits, a `drain` job is queued on RQ unless one is already
waiting: a worker's drain claims due rows one at a time (a row no other worker holds) and delivers
each, until none is due. A busy outbox so costs a request at most one Redis `SET NX` (a web process
asks at most once per OUTBOX_DRAIN_SIGNAL_MS, and a drain that runs out of work looks again after twice
that) and a worker one RQ job for many rows; a drain that finds work queues another, so idle workers
join in. Each delivery calls the handler of the message's kind and records the attempt. Retries follow
the kind's backoff, each one an RQ job `deliver(id)` scheduled for its time, and the row ends `dead`
after the last one. Handlers send an idempotency key (the message id, or their record's id) where the
partner's protocol has one.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select, update

from modules.core.extensions import db
from modules.core.models import OutboxAttempt, OutboxMessage
from modules.core.outbox.handlers import Deferred, DeliveryError, Permanent, Retryable, Status, handler_for
from modules.core.queue import (
    OUTBOX_QUEUE,
    app_job,
    enqueue_after_commit,
    enqueue_once,
    enqueue_once_after_commit,
    waiting_job_started,
)
from modules.core.types import utcnow

DRAIN_KEY = "outbox:drain"
DRAIN_SECONDS = 60  # then a drain hands over to the next one
DRAIN_JOB_TIMEOUT = DRAIN_SECONDS + 180  # a delivery that starts late in a drain keeps RQ's usual 180 s

log = logging.getLogger(__name__)


def drain_signal_seconds() -> float:
    """How long after asking for a drain a web process skips asking again (OUTBOX_DRAIN_SIGNAL_MS): at
    hundreds of forms a second, most commits then cost no Redis call. A drain looks for work once more
    twice that long after it runs out (see `drain`), so a commit that skipped the call is delivered by
    the drain the process's last call queued or found waiting, not left to the sweeper. Web and worker
    must agree on the setting: a worker with less than half the web's value may leave such commits to
    the sweeper."""
    return current_app.config.get("OUTBOX_DRAIN_SIGNAL_MS", 0) / 1000


def queue_drain() -> bool:
    """Queue a drain unless one is waiting; False when Redis is unreachable (the sweeper catches up)."""
    return enqueue_once(drain, DRAIN_KEY, queue=OUTBOX_QUEUE, job_timeout=DRAIN_JOB_TIMEOUT)


def queue_drain_after_commit(quiet_seconds: float = 0) -> None:
    """`queue_drain` once the current transaction commits (however many times it was asked for); nothing
    if it rolls back. `quiet_seconds`: see `queue.enqueue_once`."""
    enqueue_once_after_commit(drain, DRAIN_KEY, queue=OUTBOX_QUEUE, job_timeout=DRAIN_JOB_TIMEOUT,
                              quiet_seconds=quiet_seconds)


@app_job
def drain() -> int:
    """RQ job: deliver due messages one at a time until none is left. Returns how many it attempted.

    After its first claim it queues another drain, so that an idle worker joins in on a backlog; after
    DRAIN_SECONDS it hands what is left to that one. When it first runs out of work it looks once more
    after twice OUTBOX_DRAIN_SIGNAL_MS, for commits that did not ask for a drain."""
    waiting_job_started(DRAIN_KEY)
    deadline = time.monotonic() + DRAIN_SECONDS
    linger = 2 * drain_signal_seconds()
    attempted = 0
    while time.monotonic() < deadline:
        started = utcnow()
        message_id = _claim_next(started)
        if message_id is None:
            if linger <= 0:
                return attempted
            time.sleep(linger)  # for commits that skipped asking for a drain (`queue.enqueue_once`'s quiet time)
            linger = 0
            continue
        if attempted == 0:
            queue_drain()
        attempted += 1
        try:
            _attempt(message_id, started)
        except Exception as exc:  # noqa: BLE001 (the row is already scheduled for its retry; go on with the rest)
            db.session.rollback()
            log.error("outbox delivery failed with an internal error",
                      extra={"outbox_id": message_id, "error": type(exc).__name__})
    queue_drain()
    return attempted


@app_job
def deliver(message_id: str, attempts: int | None = None) -> str:
    """RQ job: one delivery attempt of one message (a retry, a replay, the sweeper's). Returns what
    happened, for the job's result.

    `attempts` is the message's attempt count when the job was enqueued. A second job for the same
    attempt (the sweeper's, while the first waited in a long queue) finds the count moved on and does
    nothing, instead of trying again at once and ignoring the backoff."""
    started = utcnow()
    if not _claim(message_id, started, attempts):
        return "skipped"
    return _attempt(message_id, started)


def _attempt(message_id: str, started: datetime) -> str:
    """One delivery attempt of a message this worker has claimed."""
    message = db.session.get(OutboxMessage, message_id)
    registered = handler_for(message.kind)
    try:
        if registered is None:
            raise Permanent(f"no handler for kind {message.kind}")
        status_code = registered.deliver(message)
    except Deferred as exc:
        db.session.rollback()
        return _defer(message_id, exc)
    except DeliveryError as exc:
        db.session.rollback()
        return _record_failure(message_id, started, exc, retryable=isinstance(exc, Retryable))
    except Exception as exc:
        db.session.rollback()
        _record_failure(message_id, started, Retryable(f"internal error: {type(exc).__name__}"), retryable=True)
        raise  # RQ shows the job as failed; the row itself is already scheduled for its retry
    _finish(message, started, "delivered", status_code, None)
    message.status = Status.DELIVERED
    message.delivered_at = utcnow()
    db.session.commit()
    return "delivered"


def _lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=current_app.config.get("OUTBOX_CLAIM_SECONDS", 300))


def _claimable(now: datetime) -> list:
    return [OutboxMessage.status == Status.PENDING,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)]


def _claim(message_id: str, now: datetime, attempts: int | None) -> bool:
    claimable = [OutboxMessage.id == message_id, *_claimable(now)]
    if attempts is not None:
        claimable.append(OutboxMessage.attempts == attempts)
    result = db.session.execute(update(OutboxMessage).where(*claimable).values(claimed_until=_lease_end(now)))
    db.session.commit()
    return result.rowcount == 1


def _claim_next(now: datetime) -> str | None:
    """Claim the due message that has waited longest; None when none is due. On PostgreSQL, rows another
    worker is claiming are skipped (SKIP LOCKED); SQLite has one writer at a time anyway."""
    oldest_due = (select(OutboxMessage.id).where(*_claimable(now), OutboxMessage.next_attempt_at <= now)
                  .order_by(OutboxMessage.next_attempt_at).limit(1).with_for_update(skip_locked=True))
    claimed = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id == oldest_due.scalar_subquery(), *_claimable(now))
        .values(claimed_until=_lease_end(now)).returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)).scalar()
    db.session.commit()
    return claimed


def _defer(message_id: str, exc: Deferred) -> str:
    message = db.session.get(OutboxMessage, message_id)
    message.next_attempt_at = utcnow() + timedelta(seconds=exc.delay_seconds)
    message.claimed_until = message.enqueued_at = None
    message.last_error = f"deferred: {exc}"[:500]
    enqueue_after_commit(deliver, message.id, message.attempts, queue=OUTBOX_QUEUE, delay_seconds=exc.delay_seconds)
    db.session.commit()
    return "deferred"


def _record_failure(message_id: str, started: datetime, exc: DeliveryError, retryable: bool) -> str:
    message = db.session.get(OutboxMessage, message_id)
    registered = handler_for(message.kind)
    backoff = registered.backoff if registered else ()
    attempts_after = message.attempts + 1
    if retryable and attempts_after <= len(backoff):
        delay = backoff[attempts_after - 1]
        _finish(message, started, "retry", exc.status_code, str(exc))
        message.next_attempt_at = utcnow() + timedelta(seconds=delay)
        enqueue_after_commit(deliver, message.id, message.attempts, queue=OUTBOX_QUEUE, delay_seconds=delay)
        outcome = "retry"
    else:
        _finish(message, started, "dead", exc.status_code, str(exc))
        message.status = Status.DEAD
        if registered and registered.on_dead:
            registered.on_dead(message)
        outcome = "dead"
    db.session.commit()
    return outcome


def _finish(message: OutboxMessage, started: datetime, outcome: str, status_code: int | None,
            error: str | None) -> None:
    number = db.session.scalar(select(func.count()).where(OutboxAttempt.outbox_id == message.id)) + 1
    short_error = error[:500] if error else None
    db.session.add(OutboxAttempt(outbox_id=message.id, number=number, started_at=started, finished_at=utcnow(),
                                 outcome=outcome, status_code=status_code, error=short_error))
    message.attempts += 1
    message.claimed_until = message.enqueued_at = None  # the job that was queued for it has run
    message.last_status_code = status_code
    message.last_error = short_error
