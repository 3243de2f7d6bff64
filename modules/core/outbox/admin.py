"""What operators and domains ask of the outbox: counts, lists, a subject's messages and their attempts.

Domains query the outbox only through these functions, never its tables. Replays and purges are in
`replaying.py`, the retention of delivered messages in `retention.py`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select

from modules.core.extensions import db
from modules.core.models import OutboxAttempt, OutboxMessage
from modules.core.outbox import control, listing, policy
from modules.core.outbox.destinations import destination_of
from modules.core.outbox.handlers import Status
from modules.core.paging import page

TRACED = ("id", "kind", "subject_id", "status", "attempts", "next_attempt_at", "last_error", "last_status_code",
          "created_at", "updated_at", "delivered_at")


def stats() -> dict[str, Any]:
    """Counts by status, overall and per kind."""
    rows = db.session.execute(
        select(OutboxMessage.kind, OutboxMessage.status, func.count()).group_by(OutboxMessage.kind,
                                                                                OutboxMessage.status)
    ).all()
    totals = {status.value: 0 for status in Status}
    by_kind: dict[str, dict[str, int]] = {}
    for kind, status, count in rows:
        totals[status] = totals.get(status, 0) + count
        by_kind.setdefault(kind, {})[status] = count
    return {"totals": totals, "by_kind": by_kind}


def messages(status: str | None = None, kind: str | None = None, limit: int = 50,
             offset: int = 0) -> tuple[int, list[OutboxMessage]]:
    """(how many messages match, this page of them newest first); `listing.py` has every filter."""
    total, found, _ = listing.counted(listing.Filter(status=status, kind=kind), limit, offset)
    return total, found


def counts(kinds: Iterable[str]) -> dict[str, int]:
    """How many messages of `kinds` are in each status: {"pending": n, "delivered": n, "dead": n}."""
    found = dict(db.session.execute(select(OutboxMessage.status, func.count())
                                    .where(OutboxMessage.kind.in_(list(kinds))).group_by(OutboxMessage.status)).all())
    return {status.value: found.get(status.value, 0) for status in Status}


def pending_for(kind: str, subject_id: Any) -> ColumnElement[bool]:
    """A SQL condition, true where a pending message of `kind` carries `subject_id` (a value or a
    column of the caller's query, e.g. `~outbox.pending_for(KIND, Record.id)` for records not yet queued)."""
    return exists().where(OutboxMessage.kind == kind, OutboxMessage.status == Status.PENDING,
                          OutboxMessage.subject_id == subject_id)


def messages_of(subject_id: str, kind: str | None = None) -> list[OutboxMessage]:
    """The messages that carry `subject_id` (of `kind`), oldest first. Read them; never change them."""
    query = select(OutboxMessage).where(OutboxMessage.subject_id == subject_id)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(query.order_by(OutboxMessage.created_at, OutboxMessage.id)))


def get(message_id: str) -> OutboxMessage | None:
    """One message by id (read it; never change it)."""
    return db.session.get(OutboxMessage, message_id)


def kinds() -> list[dict[str, Any]]:
    """Every registered kind with its policy (`policy.kinds()`: destination, backoff, attempts, the backoff's
    setting, the breaker's settings) and its destination's `state` (active, paused, open, half_open)."""
    state_of = {destination["name"]: destination["state"] for destination in control.states()}
    return [{**kind, "state": state_of.get(kind["destination"], "active")} for kind in policy.kinds()]


def backlog() -> dict[str, int]:
    """{"pending": n, "dead": n} for /health: one `count(*) ... WHERE status = :status` each, answered from
    the index that leads with status (ix_outbox_due), never a scan of the whole table."""
    return {status.value: db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                            .where(OutboxMessage.status == status.value))
            for status in (Status.PENDING, Status.DEAD)}


def trace(subject_id: str, limit: int = 50, offset: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """(how many messages carry `subject_id`, this page of them oldest first, each as `traced` gives it)."""
    query = select(OutboxMessage).where(OutboxMessage.subject_id == subject_id)
    total, found = page(query, limit, offset, OutboxMessage.created_at, OutboxMessage.id)
    attempts = _attempts_of([message.id for message in found])
    return total, [_traced(message, attempts.get(message.id, [])) for message in found]


def traced(message_id: str) -> dict[str, Any] | None:
    """One message with its destination and every attempt (`attempt_log`: number, started_at,
    finished_at, outcome, status_code, error: what the peer said); None when there is no such message."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None:
        return None
    return _traced(message, _attempts_of([message.id]).get(message.id, []))


def _attempts_of(message_ids: list[str]) -> dict[str, list[OutboxAttempt]]:
    found: dict[str, list[OutboxAttempt]] = {}
    if message_ids:
        for attempt in db.session.scalars(select(OutboxAttempt).where(OutboxAttempt.outbox_id.in_(message_ids))
                                          .order_by(OutboxAttempt.outbox_id, OutboxAttempt.number)):
            found.setdefault(attempt.outbox_id, []).append(attempt)
    return found


def _traced(message: OutboxMessage, attempts: list[OutboxAttempt]) -> dict[str, Any]:
    return {**{name: getattr(message, name) for name in TRACED}, "destination": destination_of(message.kind),
            "attempt_log": attempts}
