"""Storing forms, reading their sync state, and recording the outcome of a dashboard delivery.

Each ingest is one transaction: the record and its outbox message commit together. A form gets no
audit entry: the record is its own trace (id, created_at, sync state) and the access log has the
request; audit entries record operator actions such as a re-sync.

While DASHBOARD_BASE_URL is unset a record gets no outbox message (it would only burn its retries
and die); it stays `pending_dashboard_sync` and `jobs.queue_unsynced` queues it once the URL is set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import exists, func, literal, or_, select, text, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from modules import __version__
from modules.core import audit, outbox
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.types import isoformat, new_id, utcnow
from modules.sentratech.forms import FORMS, Form
from modules.sentratech.models import FAILED, PENDING, SYNCED, Subscription, SyncedRecord
from modules.sentratech.schemas import DEFAULT_SOURCE

SYNC_KIND = "sentratech.dashboard_sync"
RECENT_LIMIT = 10


def health() -> dict[str, Any]:
    """Raises the database's error when it cannot be reached (the blueprint answers 503)."""
    db.session.execute(text("SELECT 1"))
    return {"status": "healthy", "timestamp": isoformat(utcnow()), "database": "connected",
            "ingest_configured": ingest_configured(), "dashboard_configured": dashboard_configured(),
            "version": __version__}


def dashboard_configured() -> bool:
    return bool(current_app.config.get("DASHBOARD_BASE_URL"))


def ingest_configured() -> bool:
    return bool(current_app.config.get("INGEST_KEY"))


def ingest(form: Form, data: dict[str, Any]) -> str:
    """Store one validated form and queue its dashboard sync; returns the record's id. A subscription
    that changes nothing (same status, and the same source or none) is not a new revision: nothing is
    written or queued."""
    if form.model is Subscription:
        record_id, changed = _upsert_subscription(data)
    else:
        record_id, changed = new_id(), True
        db.session.connection().execute(form.model.__table__.insert(), {"id": record_id, **data})  # a hot path
    if changed and dashboard_configured():
        queue_sync(form, record_id)
    db.session.commit()
    return record_id


def queue_sync(form: Form, record_id: str) -> None:
    outbox.add(SYNC_KIND, {"form": form.name}, subject_id=record_id)


def _upsert_subscription(data: dict[str, Any]) -> tuple[str, bool]:
    """Insert, or update the row of the same e-mail: one statement, so concurrent posts cannot duplicate.
    A new row gets DEFAULT_SOURCE when no source is given (absent, null or blank); an update without one
    keeps the stored source. An update that changes the status or the source is the next revision and
    waits for the dashboard again. Returns (id, whether the row was inserted or changed)."""
    dialect = sqlite if db.session.get_bind().dialect.name == "sqlite" else postgresql
    now = utcnow()
    email, source = data["email"].lower(), data.get("source")
    statement = dialect.insert(Subscription).values(
        id=new_id(), email=email, source=source or DEFAULT_SOURCE, status=data["status"], revision=1,
        sync_status=PENDING, created_at=now, updated_at=now)
    table = Subscription.__table__
    changes = {"status": statement.excluded.status}
    if source is not None:
        changes["source"] = statement.excluded.source
    statement = statement.on_conflict_do_update(
        index_elements=[Subscription.email],
        set_={**changes, "revision": table.c.revision + 1, "sync_status": PENDING, "sync_error": None,
              "updated_at": now},
        where=or_(*(table.c[name] != value for name, value in changes.items())),
    ).returning(Subscription.id)
    record_id = db.session.execute(statement).scalar_one_or_none()
    if record_id is not None:
        return record_id, True
    return db.session.scalar(select(Subscription.id).where(Subscription.email == email)), False


def sync_counts(form: Form) -> dict[str, Any]:
    rows = db.session.execute(
        select(form.model.sync_status, func.count()).group_by(form.model.sync_status)).all()
    by_state = dict(rows)
    return {"total_count": sum(by_state.values()),
            "sync": {"pending": by_state.get(PENDING, 0), "synced": by_state.get(SYNCED, 0),
                     "failed": by_state.get(FAILED, 0)}}


def recent_records(form: Form, limit: int = RECENT_LIMIT) -> list[dict[str, Any]]:
    records = db.session.scalars(
        select(form.model).order_by(form.model.created_at.desc(), form.model.id).limit(limit)).all()
    return [{**record_body(form, record), "sync_status": record.sync_status} for record in records]


def record_body(form: Form, record: SyncedRecord) -> dict[str, Any]:
    """The record as the client sent it (validated, trimmed, defaults filled) plus id and created_at."""
    return {"id": record.id, **{name: getattr(record, name) for name in form.fields},
            "created_at": isoformat(record.created_at)}


def idempotency_key(record: SyncedRecord) -> str:
    """`<id>:<revision>`: one key per version of the record, read from the same row as its body."""
    return f"{record.id}:{record.revision}"


def find_record(form: Form, record_id: str | None) -> SyncedRecord | None:
    return db.session.get(form.model, record_id) if record_id else None


def mark_synced(form: Form, record_id: str, revision: int) -> None:
    """`revision` reached the dashboard: the record is synced, unless it changed since it was read (the
    newer revision is still pending and has a message of its own)."""
    db.session.execute(
        update(form.model).where(form.model.id == record_id, form.model.revision == revision)
        .values(sync_status=SYNCED, sync_error=None, synced_at=utcnow()))


def mark_failed(form: Form, record_id: str, reason: str | None) -> None:
    """A delivery died: the record is sync_failed, unless another delivery has meanwhile brought its
    current revision to the dashboard (a late refusal of an older message does not undo that)."""
    db.session.execute(
        update(form.model).where(form.model.id == record_id, form.model.sync_status != SYNCED)
        .values(sync_status=FAILED, sync_error=(reason or "")[:500] or None))


def records_by_state(sync_status: str, form_name: str | None, limit: int,
                     offset: int) -> tuple[int, list[dict[str, Any]]]:
    """A page of records in one sync state, newest first, without their content (ids, states, errors)."""
    forms = [FORMS[form_name]] if form_name else list(FORMS.values())
    listed = union_all(*(
        select(form.model.id, form.model.sync_status, form.model.sync_error, form.model.created_at,
               form.model.updated_at, literal(form.name).label("type")).where(form.model.sync_status == sync_status)
        for form in forms)).subquery()
    total = db.session.scalar(select(func.count()).select_from(listed))
    rows = db.session.execute(
        select(listed).order_by(listed.c.created_at.desc(), listed.c.id).limit(limit).offset(offset)).all()
    return total, [{"id": row.id, "type": row.type, "sync_status": row.sync_status, "sync_error": row.sync_error,
                    "created_at": isoformat(row.created_at), "updated_at": isoformat(row.updated_at)}
                   for row in rows]


class DashboardNotConfigured(Exception):
    """Re-sync was asked for while DASHBOARD_BASE_URL is unset."""


SyncPlan = list[tuple[Form, list[str]]]


def plan_sync(forms: list[Form], states: tuple[str, ...]) -> SyncPlan:
    """For each form, the ids of its records in `states` that no pending outbox message already carries."""
    if not dashboard_configured():
        raise DashboardNotConfigured("DASHBOARD_BASE_URL is not set: records stay pending until it is")
    plan = []
    for form in forms:
        in_flight = exists().where(OutboxMessage.kind == SYNC_KIND, OutboxMessage.status == "pending",
                                   OutboxMessage.subject_id == form.model.id)
        ids = db.session.scalars(select(form.model.id).where(form.model.sync_status.in_(states), ~in_flight)
                                 .order_by(form.model.created_at)).all()
        plan.append((form, list(ids)))
    return plan


def queue_planned(plan: SyncPlan, batch_size: int = 500, progress: Callable[[int], None] | None = None,
                  actor: str = "system") -> int:
    """Mark the planned records pending and give each an outbox message, one transaction per batch
    (one UPDATE and one multi-row INSERT). Returns how many records were queued."""
    queued = 0
    for form, ids in plan:
        for start in range(0, len(ids), batch_size):
            batch = ids[start:start + batch_size]
            db.session.execute(update(form.model).where(form.model.id.in_(batch))
                               .values(sync_status=PENDING, sync_error=None, updated_at=utcnow()))
            outbox.add_many(SYNC_KIND, [({"form": form.name}, record_id) for record_id in batch])
            audit.record("sentratech", f"{form.name}.resync", actor=actor, details={"queued": len(batch)})
            db.session.commit()
            queued += len(batch)
            if progress:
                progress(len(batch))
    return queued
