"""The dashboard sync: its outbox kind, queueing records for it, its handler, and the periodic job that
queues records left pending (stored while DASHBOARD_BASE_URL was unset).

A record's sync state follows its messages: queued -> `pending_dashboard_sync`, delivered ->
`synced_to_dashboard`, dead -> `sync_failed`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Row, select, update

from modules.core import audit, outbox
from modules.core.extensions import db
from modules.core.outbox import Deferred, Permanent
from modules.core.queue import app_job
from modules.core.scheduler import periodic
from modules.core.types import utcnow
from modules.sentratech.clients import DashboardClient, dashboard_configured
from modules.sentratech.forms import FORMS, Form
from modules.sentratech.models import FAILED, PENDING, SYNCED, SyncedRecord

SYNC_KIND = "sentratech.dashboard_sync"

SyncPlan = list[tuple[Form, list[str]]]


def queue_sync(form: Form, record_id: str) -> None:
    """Give the record an outbox message in the caller's transaction."""
    outbox.add(SYNC_KIND, {"form": form.name}, subject_id=record_id)


def plan_sync(forms: list[Form], states: tuple[str, ...], record_id: str | None = None) -> SyncPlan:
    """For each form, the ids of its records in `states` that no pending outbox message already carries,
    oldest first; with `record_id`, only that record (if it qualifies)."""
    plan = []
    for form in forms:
        waiting = select(form.model.id).where(form.model.sync_status.in_(states),
                                              ~outbox.pending_for(SYNC_KIND, form.model.id))
        if record_id is not None:
            waiting = waiting.where(form.model.id == record_id)
        plan.append((form, list(db.session.scalars(waiting.order_by(form.model.created_at)))))
    return plan


def queue_planned(plan: SyncPlan, batch_size: int = 500, progress: Callable[[int], None] | None = None,
                  actor: str = "system") -> int:
    """Mark the planned records pending and give each an outbox message, one transaction per batch
    (one UPDATE and one multi-row INSERT), audited per batch as `<form>.resync` by `actor`. Returns how
    many records were queued; `progress(n)` is called after each batch of n."""
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


def sync_died(message: outbox.Message) -> None:
    """The message died (a refusal such as a 400, or retries exhausted): the record is `sync_failed`,
    unless another delivery has meanwhile brought its current revision to the dashboard (a late refusal
    of an older message does not undo that)."""
    form = FORMS.get(message.payload.get("form"))
    if form and message.subject_id:
        db.session.execute(
            update(form.model).where(form.model.id == message.subject_id, form.model.sync_status != SYNCED)
            .values(sync_status=FAILED, sync_error=(message.last_error or "")[:500] or None))


@outbox.handler(SYNC_KIND, on_dead=sync_died, destination="dashboard")
def sync_record(message: outbox.Message) -> int:
    """POST the record's current revision to the dashboard; it is `synced_to_dashboard` on a 2xx or a 409.

    Body and Idempotency-Key come from one read of the row, so they always describe the same revision:
    a message queued for an older revision sends the current one (a dashboard that already has it replays
    its answer), never new content under an old key or old content under a new one. The record is marked
    synced only if that revision is still its current one (a newer one has a message of its own)."""
    form = FORMS.get(message.payload.get("form"))
    record = _current_revision(form, message.subject_id) if form and message.subject_id else None
    if record is None:
        raise Permanent("record not found")
    client = DashboardClient.from_config()
    if client is None:
        raise Deferred("DASHBOARD_BASE_URL is not set in the worker")
    status_code = client.post_record(form.name, form.body(record), SyncedRecord.idempotency_key.fget(record))
    db.session.execute(
        update(form.model).where(form.model.id == record.id, form.model.revision == record.revision)
        .values(sync_status=SYNCED, sync_error=None, synced_at=utcnow())
        .execution_options(synchronize_session=False))  # the session holds no record: nothing to refresh
    return status_code


def _current_revision(form: Form, record_id: str) -> Row | None:
    """The record's row as stored now (its columns, read by name), or None: a plain SELECT, no ORM object,
    since a delivery only reads it."""
    return db.session.execute(select(*form.model.__table__.columns).where(form.model.id == record_id)).first()


@periodic("sentratech.queue_unsynced", every_seconds=300, name="Queue SentraTech records still waiting for the "
          "dashboard (stored while DASHBOARD_BASE_URL was unset)")
@app_job
def queue_unsynced() -> int:
    if not dashboard_configured():
        return 0
    return queue_planned(plan_sync(list(FORMS.values()), (PENDING,)))
