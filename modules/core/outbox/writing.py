"""Adding messages: in the caller's transaction, delivered once it commits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.outbox.delivery import drain_signal_seconds, queue_drain_after_commit
from modules.core.outbox.handlers import Status
from modules.core.types import new_id, utcnow

_INSERT = OutboxMessage.__table__.insert()


def add(kind: str, payload: dict[str, Any], subject_id: str | None = None) -> str:
    """Add a message to the caller's transaction and return its id; a drain is queued once that
    transaction commits. A plain INSERT, not an ORM object: this is on every ingest's hot path."""
    return add_many(kind, [(payload, subject_id)])[0]


def add_many(kind: str, messages: Iterable[tuple[dict[str, Any], str | None]]) -> list[str]:
    """`add` for many (payload, subject_id) pairs at once: one multi-row INSERT. Returns the ids."""
    now = utcnow()
    rows = [{"id": new_id(), "kind": kind, "payload": payload, "subject_id": subject_id,
             "status": Status.PENDING.value, "attempts": 0, "next_attempt_at": now, "created_at": now,
             "updated_at": now}
            for payload, subject_id in messages]
    if rows:
        db.session.connection().execute(_INSERT, rows[0] if len(rows) == 1 else rows)
        queue_drain_after_commit(quiet_seconds=drain_signal_seconds())
    return [row["id"] for row in rows]
