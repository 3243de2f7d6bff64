"""Claiming: a worker takes a message for one attempt by setting its lease (`claimed_until`), so that no
other worker delivers it meanwhile; a lease that ends (a killed worker) frees the message again.

Every claim respects the destinations (`destinations.py`): held kinds (paused, or behind an open breaker)
are not claimed; a destination whose breaker's cool-down is over gives exactly one message as its probe.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.outbox import destinations
from modules.core.outbox.handlers import Status


def lease_end(now: datetime) -> datetime:
    """When a lease taken `now` ends (OUTBOX_CLAIM_SECONDS)."""
    return now + timedelta(seconds=current_app.config.get("OUTBOX_CLAIM_SECONDS", 300))


def claimable(now: datetime) -> list:
    """The conditions of a message no worker holds: pending, and its lease (if any) over."""
    return [OutboxMessage.status == Status.PENDING,
            or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until < now)]


def claim(message_id: str, now: datetime, attempts: int | None) -> bool:
    """Claim one message (if its attempt count is still `attempts`); commits. False if it is not free."""
    free = [OutboxMessage.id == message_id, *claimable(now)]
    if attempts is not None:
        free.append(OutboxMessage.attempts == attempts)
    result = db.session.execute(update(OutboxMessage).where(*free).values(claimed_until=lease_end(now)))
    db.session.commit()
    return result.rowcount == 1


def claim_chunk(now: datetime, limit: int) -> tuple[list[OutboxMessage], bool]:
    """Claim a destination's probe if one is due, else up to `limit` due messages among the destinations
    not held, those that have waited longest, in one UPDATE ... RETURNING; commits. Returns the messages
    (oldest first; detached copies of the rows, for handlers to read) and whether the one message is a
    probe; ([], False) when none is due. On PostgreSQL rows another worker is claiming are skipped (SKIP
    LOCKED), so workers take disjoint chunks; SQLite has one writer at a time anyway."""
    gate = destinations.gates(now)
    for destination in gate.probe_ready:
        probe = claim_probe(destination, now)
        if probe is not None:
            return claimed_rows([probe], now), True
    not_now = gate.held + [kind for name in gate.probe_ready for kind in destinations.kinds_of(name)]
    due = [*claimable(now), OutboxMessage.next_attempt_at <= now]
    if not_now:
        due.append(OutboxMessage.kind.not_in(not_now))
    # A CTE, not `id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`: PostgreSQL may run such a subquery
    # again for the UPDATE's rows and claim more than `limit`; a CTE that locks rows is run once.
    oldest_due = (select(OutboxMessage.id).where(*due).order_by(OutboxMessage.next_attempt_at).limit(limit)
                  .with_for_update(skip_locked=True).cte("oldest_due"))
    rows = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.id.in_(select(oldest_due.c.id)), *claimable(now))
        .values(claimed_until=lease_end(now)).returning(*OutboxMessage.__table__.columns)
        .execution_options(synchronize_session=False)).all()
    db.session.commit()
    return _detached(rows), False


def claimed_rows(ids: list[str], now: datetime) -> list[OutboxMessage]:
    """Detached copies of messages this worker has just claimed (at `now`), oldest first: one SELECT."""
    rows = db.session.execute(select(*OutboxMessage.__table__.columns).where(
        OutboxMessage.id.in_(ids), OutboxMessage.claimed_until == lease_end(now))).all()
    return _detached(rows)


def _detached(rows: list) -> list[OutboxMessage]:
    """Message objects built from claimed rows, outside the session: handlers read them, and nothing the
    session flushes writes them back (the outcome is recorded by statements of its own)."""
    ordered = sorted(rows, key=lambda row: (row.next_attempt_at, row.created_at))
    return [OutboxMessage(**row._mapping) for row in ordered]


def release(ids: list[str], now: datetime) -> None:
    """Give back messages claimed at `now` that this worker did not attempt: due again at once, no attempt
    used. In the caller's transaction."""
    if ids:
        db.session.execute(update(OutboxMessage).where(
            OutboxMessage.id.in_(ids), OutboxMessage.status == Status.PENDING,
            OutboxMessage.claimed_until == lease_end(now)).values(claimed_until=None)
            .execution_options(synchronize_session=False))


def claim_probe(destination: str, now: datetime) -> str | None:
    """Claim the oldest due message of `destination` as its breaker's one probe; None when it has no due
    message or another worker holds the probe."""
    candidate = db.session.scalar(
        select(OutboxMessage.id).where(*claimable(now), OutboxMessage.next_attempt_at <= now,
                                       OutboxMessage.kind.in_(destinations.kinds_of(destination)))
        .order_by(OutboxMessage.next_attempt_at).limit(1))
    if candidate is None or not destinations.take_probe(destination, now):
        db.session.commit()
        return None
    claimed = db.session.execute(update(OutboxMessage).where(OutboxMessage.id == candidate, *claimable(now))
                                 .values(claimed_until=lease_end(now))).rowcount == 1
    if not claimed:
        destinations.release_probe(destination, now)
    db.session.commit()
    return candidate if claimed else None
