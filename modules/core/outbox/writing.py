"""Adding messages: in the caller's transaction, delivered once it commits; or, on PostgreSQL, in the same
single statement as the record they are about (`store_prepared`), delivered once it has run."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from modules.core import prepared
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.outbox.delivery import drain_signal_seconds, queue_drain, queue_drain_after_commit
from modules.core.outbox.handlers import Status
from modules.core.types import new_id, utcnow

_INSERT = OutboxMessage.__table__.insert()
_COLUMNS = "id, kind, payload, subject_id, status, attempts, next_attempt_at, created_at, updated_at"


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


def insert_messages_sql(kind: str, id_parameter: str, payload: str, subject_id: str, at: str, source: str) -> str:
    """SQL (PostgreSQL) inserting one new message per row of `source` (a CTE's name and any WHERE), for the
    end of a `store_prepared` statement: `id_parameter` its id's placeholder, `payload` a jsonb expression,
    `subject_id` and `at` columns of `source` (`at` its next attempt, creation and update times). `kind` and
    the expressions are the code's constants, never input."""
    return (f"INSERT INTO {OutboxMessage.__tablename__} ({_COLUMNS}) SELECT {id_parameter}::varchar, '{kind}', "
            f"{payload}, {subject_id}, '{Status.PENDING.value}', 0, {at}, {at}, {at} FROM {source}")


def store_prepared(name: str, statement: str, parameters: tuple[Any, ...]) -> None:
    """Run `statement` (PostgreSQL SQL with $1.. placeholders) as one autocommit statement, PREPAREd under
    `name` (modules/core/prepared.py), then ask for a drain: one round trip, and the record and the messages
    it inserts are all stored or none (its error propagates, nothing to roll back)."""
    with prepared.autocommit() as connection:
        prepared.execute(connection, name, statement, parameters)
    queue_drain(quiet_seconds=drain_signal_seconds())  # the messages are committed already: asked now
