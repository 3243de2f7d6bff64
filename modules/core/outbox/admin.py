"""What operators and domains ask of the outbox: counts, lists, a subject's messages, and replays.

Domains query the outbox only through these functions, never its tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select

from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.outbox.delivery import deliver
from modules.core.outbox.handlers import Status
from modules.core.paging import page
from modules.core.queue import OUTBOX_QUEUE, enqueue_after_commit
from modules.core.types import utcnow


def replay(ids: Iterable[str] = (), kind: str | None = None, all_dead: bool = False) -> int:
    """Give dead messages (these ids, this kind, or all of them) a fresh schedule and enqueue them.
    Returns how many."""
    query = select(OutboxMessage).where(OutboxMessage.status == Status.DEAD)
    ids = list(ids)
    if ids:
        query = query.where(OutboxMessage.id.in_(ids))
    elif kind:
        query = query.where(OutboxMessage.kind == kind)
    elif not all_dead:
        return 0
    messages = db.session.scalars(query).all()
    now = utcnow()
    for message in messages:
        message.status, message.attempts, message.next_attempt_at = Status.PENDING, 0, now
        message.claimed_until = message.enqueued_at = None
        enqueue_after_commit(deliver, message.id, 0, queue=OUTBOX_QUEUE)
    db.session.commit()
    return len(messages)


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
    """(how many messages match, this page of them newest first)."""
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    if kind:
        query = query.where(OutboxMessage.kind == kind)
    return page(query, limit, offset, OutboxMessage.created_at.desc(), OutboxMessage.id.desc())


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
