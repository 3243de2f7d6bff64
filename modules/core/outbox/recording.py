"""Recording attempts: each attempt's row in `outbox_attempt` (numbered 1, 2, ... per message, probes
included), the message's new state, its destination's breaker and the /metrics count.

A drain's successful deliveries are recorded together (`record_delivered`): one SELECT numbers their
attempts, one multi-row INSERT writes them, one UPDATE per status code marks the messages delivered and
one UPDATE per destination tells its breaker. A failure is recorded on its own (`finish`,
`record_attempt`), right after the successes before it, so that the breaker counts in delivery order.
Nothing here commits: the caller commits the attempts with the handlers' own writes. Once it has, open
consoles hear one `deliveries` event per destination, kind and outcome of the chunk (`live.py`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from modules.core import live, metrics
from modules.core.extensions import db
from modules.core.models import OutboxAttempt, OutboxMessage
from modules.core.outbox import destinations
from modules.core.outbox.handlers import Status

ERROR_LENGTH = 500  # outbox.last_error and outbox_attempt.error
_INSERT_ATTEMPT = OutboxAttempt.__table__.insert()


@dataclass(frozen=True)
class Delivered:
    """A delivery the peer accepted, not yet recorded: the message, when its attempt started and ended,
    and the status code its handler returned."""

    message: OutboxMessage
    started: datetime
    finished: datetime
    status_code: int | None


def record_delivered(batch: list[Delivered], now: datetime) -> bool:
    """Record successful attempts: each message `delivered` with one attempt more, its attempt row, its
    destination's breaker closed and its failure count restarted (at `now`). True when a destination's breaker
    changed (the caller queues a drain for its backlog). In the caller's transaction."""
    if not batch:
        return False
    ids = [done.message.id for done in batch]
    numbers = dict(db.session.execute(select(OutboxAttempt.outbox_id, func.count())
                                      .where(OutboxAttempt.outbox_id.in_(ids)).group_by(OutboxAttempt.outbox_id))
                   .all())
    connection = db.session.connection()
    connection.execute(_INSERT_ATTEMPT, [
        {"outbox_id": done.message.id, "number": numbers.get(done.message.id, 0) + 1, "started_at": done.started,
         "finished_at": done.finished, "outcome": "delivered", "status_code": done.status_code, "error": None}
        for done in batch])
    by_status: dict[int | None, list[Delivered]] = defaultdict(list)
    for done in batch:
        by_status[done.status_code].append(done)
    for status_code, group in by_status.items():
        connection.execute(
            update(OutboxMessage.__table__).where(OutboxMessage.id.in_([done.message.id for done in group]))
            .values(status=Status.DELIVERED, attempts=OutboxMessage.attempts + 1, delivered_at=group[-1].finished,
                    claimed_until=None, enqueued_at=None, last_status_code=status_code, last_error=None))
    changed = False
    for destination in sorted({destinations.destination_of(done.message.kind) for done in batch}):
        changed |= destinations.delivered(destination, now)
    for done in batch:
        metrics.count_delivery(destinations.destination_of(done.message.kind), "delivered")
    for kind in {done.message.kind for done in batch}:
        _announce(kind, "delivered")
    return changed


def finish(message: OutboxMessage, started: datetime, finished: datetime, outcome: str, status_code: int | None,
           error: str | None) -> None:
    """Record an attempt that used up one of the message's attempts (`message` is the session's row)."""
    record_attempt(message, started, finished, outcome, status_code, error)
    message.attempts += 1


def record_attempt(message: OutboxMessage, started: datetime, finished: datetime, outcome: str,
                   status_code: int | None, error: str | None) -> None:
    """Record one attempt of `message` (the session's row) with its outcome; the message's claim ends."""
    metrics.count_delivery(destinations.destination_of(message.kind), outcome)
    _announce(message.kind, outcome)
    number = db.session.scalar(select(func.count()).where(OutboxAttempt.outbox_id == message.id)) + 1
    short_error = error[:ERROR_LENGTH] if error else None
    db.session.add(OutboxAttempt(outbox_id=message.id, number=number, started_at=started, finished_at=finished,
                                 outcome=outcome, status_code=status_code, error=short_error))
    message.claimed_until = message.enqueued_at = None  # the job that was queued for it has run
    message.last_status_code = status_code
    message.last_error = short_error


def _announce(kind: str, outcome: str) -> None:
    """A `deliveries` event for open consoles once the attempts commit (one per kind and outcome)."""
    live.publish_after_commit("deliveries", {"destination": destinations.destination_of(kind), "kind": kind,
                                             "outcome": outcome})
