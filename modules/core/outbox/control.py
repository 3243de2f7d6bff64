"""What operators do with destinations (see destinations.py): read their state, pause, resume, and close
a breaker by hand. Each action commits, is audit-logged (domain "core") and announced to open consoles
(`destinations.announce`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select, update

from modules.core import audit
from modules.core.exceptions import Invalid, NotFound
from modules.core.extensions import db
from modules.core.models import OutboxDestination, OutboxMessage
from modules.core.outbox import destinations
from modules.core.outbox.delivery import queue_drain_after_commit
from modules.core.outbox.handlers import Status
from modules.core.types import utcnow

MAX_REASON = 500  # characters of a pause reason (the column's size)


def _known(name: str) -> None:
    if name not in destinations.names() and db.session.get(OutboxDestination, name) is None:
        raise NotFound(f"No destination named {name!r}; `flask outbox destinations` lists them.")


def pause(name: str, reason: str | None, actor: str) -> dict[str, Any]:
    """Hold every message of `name` until `resume`; commits, audited. Pausing a paused destination keeps
    its first pause (time and author) and updates the reason if one is given (a blank one is none).
    A reason over MAX_REASON characters is `Invalid`."""
    _known(name)
    reason = (reason or "").strip() or None
    if reason and len(reason) > MAX_REASON:
        raise Invalid(f"the reason has {len(reason)} characters; at most {MAX_REASON}")
    now = utcnow()
    destinations.ensure(name, now)
    already = OutboxDestination.paused.is_(True)
    # One UPDATE, so that two operators pausing at once cannot lose each other's change on either database
    # (SQLite takes no row lock on a SELECT ... FOR UPDATE).
    db.session.execute(update(OutboxDestination).where(OutboxDestination.name == name).values(
        paused=True, paused_at=case((already, OutboxDestination.paused_at), else_=now),
        paused_by=case((already, OutboxDestination.paused_by), else_=actor),
        pause_reason=reason if reason else case((already, OutboxDestination.pause_reason), else_=None),
        updated_at=now))
    audit.record("core", "outbox.destination_paused", actor=actor, subject_id=name, details={"reason": reason})
    destinations.announce(name, "paused")
    db.session.commit()
    return state(name)


def resume(name: str, actor: str) -> dict[str, Any]:
    """Deliver `name`'s messages again, oldest first; commits, audited."""
    _known(name)
    now = utcnow()
    db.session.execute(update(OutboxDestination).where(OutboxDestination.name == name).values(
        paused=False, paused_at=None, paused_by=None, pause_reason=None, updated_at=now))
    audit.record("core", "outbox.destination_resumed", actor=actor, subject_id=name)
    destinations.announce(name, "resumed")
    queue_drain_after_commit()
    db.session.commit()
    return state(name)


def close_breaker(name: str, actor: str) -> dict[str, Any]:
    """Close `name`'s breaker by hand (the operator knows the peer is back); commits, audited."""
    _known(name)
    destinations.delivered(name, utcnow())
    audit.record("core", "outbox.breaker_closed", actor=actor, subject_id=name)
    queue_drain_after_commit()
    db.session.commit()
    return state(name)


def state(name: str) -> dict[str, Any]:
    """One destination's state (see `states`); NotFound for a name no kind uses and no row has."""
    _known(name)
    waiting = _waiting({name: destinations.kinds_of(name)}).get(name, {})
    return _described(name, db.session.get(OutboxDestination, name), waiting)


def states() -> list[dict[str, Any]]:
    """Every destination: {"name", "state": active|paused|open|half_open, "since", "reason", "paused_by",
    "failures" (consecutive retryable), "last_error", "last_failure_at", "retry_at" (when a probe may go),
    "kinds", "pending", "dead", "oldest_pending" (created_at of its oldest pending message, or None)}.
    Destinations of registered kinds first, then rows of kinds gone since."""
    rows = {row.name: row for row in db.session.scalars(select(OutboxDestination))}
    listed = destinations.names() + sorted(set(rows) - set(destinations.names()))
    waiting = _waiting({name: destinations.kinds_of(name) for name in listed})
    return [_described(name, rows.get(name), waiting.get(name, {})) for name in listed]


def _waiting(kinds_by_destination: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Per destination: its pending and dead counts and the creation time of its oldest pending message
    ("oldest_pending"), in one grouped query that reads only pending and dead rows, through the indexes that
    lead with status (never a scan of the delivered ones)."""
    destination_of_kind = {kind: name for name, kinds in kinds_by_destination.items() for kind in kinds}
    counts: dict[str, dict[str, Any]] = {}
    if not destination_of_kind:
        return counts
    rows = db.session.execute(
        select(OutboxMessage.kind, OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_([Status.PENDING, Status.DEAD]),
               OutboxMessage.kind.in_(list(destination_of_kind)))
        .group_by(OutboxMessage.kind, OutboxMessage.status))
    for kind, status, count, oldest in rows:
        tally = counts.setdefault(destination_of_kind[kind], {})
        tally[status] = tally.get(status, 0) + count
        if status == Status.PENDING and (tally.get("oldest_pending") is None or oldest < tally["oldest_pending"]):
            tally["oldest_pending"] = oldest
    return counts


def _described(name: str, row: OutboxDestination | None, waiting: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": name, "state": "active", "since": None, "reason": None, "paused_by": None, "failures": 0,
        "last_error": None, "last_failure_at": None, "retry_at": None, "kinds": destinations.kinds_of(name),
        "pending": waiting.get(Status.PENDING, 0), "dead": waiting.get(Status.DEAD, 0),
        "oldest_pending": waiting.get("oldest_pending")}
    if row is None:
        return described
    described.update(failures=row.failures, last_error=row.last_error, last_failure_at=row.last_failure_at)
    if row.paused:
        described.update(state="paused", since=row.paused_at, reason=row.pause_reason or "paused by an operator",
                         paused_by=row.paused_by)
    elif row.breaker != destinations.Breaker.CLOSED:
        described.update(state=row.breaker, since=row.breaker_since, retry_at=row.retry_at,
                         reason=f"circuit breaker open after {row.failures} consecutive failures; "
                                f"last: {row.last_error or 'unknown'}")
    return described
