"""Append-only audit log, written inside the caller's transaction. Entries are never updated or deleted one by
one; the retention job (`modules.core.retention.purge_audit_log`) deletes those past AUDIT_RETENTION_DAYS in
bulk and records one entry saying so."""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from sqlalchemy import event, select

from modules.core.extensions import db
from modules.core.models import AuditEntry


class AuditLogIsAppendOnly(RuntimeError):
    pass


def record(domain: str, event_name: str, *, actor: str | None = None, subject_id: str | None = None,
           request_id: str | None = None, status_code: int | None = None,
           details: dict[str, Any] | None = None) -> AuditEntry:
    """Add an audit entry to the current transaction. `details` must hold no personal data."""
    if request_id is None and has_request_context():
        request_id = g.get("request_id")
    entry = AuditEntry(domain=domain, event=event_name, actor=actor, subject_id=subject_id,
                       request_id=request_id, status_code=status_code, details=details or {})
    db.session.add(entry)
    return entry


def trail(domain: str, subject_id: str) -> list[AuditEntry]:
    """The audit entries of `subject_id` in `domain`, oldest first (read them; never change them)."""
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.domain == domain,
                                                            AuditEntry.subject_id == subject_id)
                                   .order_by(AuditEntry.created_at, AuditEntry.id)))


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_change(_mapper, _connection, _target) -> None:
    raise AuditLogIsAppendOnly("audit_log rows are never updated or deleted")
