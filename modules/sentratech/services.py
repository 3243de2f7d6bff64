"""Storing forms, reading their sync state, and re-syncing them to the dashboard.

Each ingest is one transaction: the record and its outbox message commit together (on PostgreSQL a new
record and its message are ONE prepared statement in autocommit, `_store_with_sync`). A form gets no
audit entry: the record is its own trace (id, created_at, sync state) and the access log has the
request; audit entries record operator actions such as a re-sync.

While DASHBOARD_BASE_URL is unset a record gets no outbox message (it would only burn its retries
and die); it stays `pending_dashboard_sync` and `jobs.queue_unsynced` queues it once the URL is set.
The sync itself (its outbox kind, queueing, delivery) is `jobs.py`'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.orm import Bundle

from modules import __version__
from modules.core import metrics, outbox, sql
from modules.core.exceptions import Conflict, NotFound
from modules.core.extensions import db
from modules.core.paging import every_newest, newest_page, page
from modules.core.types import isoformat, new_id, utcnow
from modules.sentratech import jobs
from modules.sentratech.clients import dashboard_configured
from modules.sentratech.forms import FORMS, Form
from modules.sentratech.models import FAILED, PENDING, SYNC_STATES, SYNCED, Subscription, SyncedRecord
from modules.sentratech.schemas import DEFAULT_SOURCE

RECENT_LIMIT = 10


class DashboardNotConfigured(Conflict):
    """A re-sync was asked for while DASHBOARD_BASE_URL is unset: there is nowhere to deliver to."""


class RecordNotFound(NotFound):
    """No record of this form has this id."""


def health() -> dict[str, Any]:
    """Raises the database's error when it cannot be reached (the blueprint answers 503)."""
    sql.probe_database()
    return {"status": "healthy", "timestamp": isoformat(utcnow()), "database": "connected",
            "ingest_configured": bool(current_app.config.get("INGEST_KEY")),
            "dashboard_configured": dashboard_configured(), "version": __version__}


def ingest(form: Form, data: dict[str, Any]) -> str:
    """Store one validated form and queue its dashboard sync; returns the record's id. A subscription
    that changes nothing (same status, and the same source or none) is not a new revision: nothing is
    written or queued."""
    if form.model is Subscription:
        record_id, changed = _upsert_subscription(data)
    elif sql.on_postgresql() and dashboard_configured():
        record_id = _store_with_sync(form, data)
        metrics.ingested("sentratech")
        return record_id
    else:
        record_id, changed = new_id(), True
        db.session.connection().execute(form.model.__table__.insert(), {"id": record_id, **data})  # a hot path
    if changed and dashboard_configured():
        jobs.queue_sync(form, record_id)
    db.session.commit()
    if changed:
        metrics.ingested("sentratech")
    return record_id


def _store_with_sync(form: Form, data: dict[str, Any]) -> str:
    """PostgreSQL: insert the record and its sync message in one statement (a data-modifying CTE), PREPAREd
    once per pooled connection and run in autocommit; returns the record's id. Every column is sent, with the
    model's default where `data` has no value, as SQLAlchemy's INSERT would fill them."""
    now = utcnow()
    record = {"id": new_id(), "revision": 1, "sync_status": PENDING, "created_at": now, "updated_at": now, **data}
    columns, statement = _record_with_sync_statement(form)
    outbox.store_prepared(f"sentratech_store_{form.name}", statement,
                   (*(record.get(name, default) for name, default in columns), new_id()))
    return record["id"]


_STATEMENTS: dict[str, tuple[tuple[tuple[str, Any], ...], str]] = {}


def _record_with_sync_statement(form: Form) -> tuple[tuple[tuple[str, Any], ...], str]:
    """((column, default) of every column of the form's table, the statement's SQL), built once per form."""
    if form.name not in _STATEMENTS:
        table = form.model.__table__
        columns = tuple((column.name, column.default.arg if column.default is not None and column.default.is_scalar
                         else None) for column in table.columns)
        values = ", ".join(f"${number}" for number in range(1, len(columns) + 1))
        payload = f"""'{{"form": "{form.name}"}}'::jsonb"""
        _STATEMENTS[form.name] = columns, (
            f"WITH record AS (INSERT INTO {table.name} ({', '.join(name for name, _ in columns)}) VALUES ({values}) "
            f"RETURNING id, created_at) "
            + outbox.insert_messages_sql(jobs.SYNC_KIND, f"${len(columns) + 1}", payload, "id", "created_at", "record"))
    return _STATEMENTS[form.name]


def _upsert_subscription(data: dict[str, Any]) -> tuple[str, bool]:
    """Insert, or update the row of the same e-mail: one statement, so concurrent posts cannot duplicate.
    A new row gets DEFAULT_SOURCE when no source is given (absent, null or blank); an update without one
    keeps the stored source. An update that changes the status or the source is the next revision and
    waits for the dashboard again. Returns (id, whether the row was inserted or changed)."""
    table = Subscription.__table__
    now = utcnow()
    email, source = data["email"].lower(), data.get("source")
    statement = sql.dialect_insert(table).values(
        id=new_id(), email=email, source=source or DEFAULT_SOURCE, status=data["status"], revision=1,
        sync_status=PENDING, created_at=now, updated_at=now)
    changes = {"status": statement.excluded.status}
    if source is not None:
        changes["source"] = statement.excluded.source
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.email],
        set_={**changes, "revision": table.c.revision + 1, "sync_status": PENDING, "sync_error": None,
              "updated_at": now},
        where=or_(*(table.c[name] != value for name, value in changes.items())),
    ).returning(table.c.id)
    record_id = db.session.execute(statement).scalar_one_or_none()
    if record_id is not None:
        return record_id, True
    return db.session.scalar(select(Subscription.id).where(Subscription.email == email)), False


def form_status(form: Form, with_records: bool) -> dict[str, Any]:
    """The form's record counts by sync state; `with_records` adds its RECENT_LIMIT latest records, newest
    first, under `form.recent_key`."""
    answer = sync_counts(form)
    if with_records:
        records = db.session.scalars(
            select(form.model).order_by(form.model.created_at.desc(), form.model.id).limit(RECENT_LIMIT))
        answer[form.recent_key] = [{**form.body(record), "sync_status": record.sync_status} for record in records]
    return answer


def sync_counts(form: Form) -> dict[str, Any]:
    """{"total_count": n, "sync": {"pending": a, "synced": b, "failed": c}}"""
    rows = db.session.execute(
        select(form.model.sync_status, func.count()).group_by(form.model.sync_status)).all()
    by_state = dict(rows)
    return {"total_count": sum(by_state.values()),
            "sync": {"pending": by_state.get(PENDING, 0), "synced": by_state.get(SYNCED, 0),
                     "failed": by_state.get(FAILED, 0)}}


def records_by_state(sync_status: str, form_type: str | None, limit: int,
                     offset: int) -> tuple[int, list[dict[str, Any]]]:
    """(total, a page of records in one sync state, newest first), every form's or `form_type`'s, without
    their content: ids, forms, states, errors and timestamps."""
    listed = union_all(*(
        select(form.model.id, form.model.sync_status, form.model.sync_error, form.model.created_at,
               form.model.updated_at, literal(form.name).label("type")).where(form.model.sync_status == sync_status)
        for form in forms_of(form_type))).subquery()
    total, rows = page(select(Bundle("record", *listed.c)), limit, offset, listed.c.created_at.desc(), listed.c.id)
    return total, [{"id": row.id, "type": row.type, "sync_status": row.sync_status, "sync_error": row.sync_error,
                    "created_at": isoformat(row.created_at), "updated_at": isoformat(row.updated_at)}
                   for row in rows]


def forms_of(form_type: str | None) -> list[Form]:
    """The form named `form_type` (one of FORMS), or every form when it is None."""
    return [FORMS[form_type]] if form_type else list(FORMS.values())


def plan_resync(form_type: str | None, only_failed: bool, record_id: str | None = None) -> jobs.SyncPlan:
    """The records a re-sync queues: those of `form_type` (every form when None) that are sync_failed
    (with `only_failed`) or in any state, and not already waiting for a delivery; with `record_id`, only
    that one. Raises DashboardNotConfigured while DASHBOARD_BASE_URL is unset."""
    if not dashboard_configured():
        raise DashboardNotConfigured("DASHBOARD_BASE_URL is not set: records stay pending until it is")
    return jobs.plan_sync(forms_of(form_type), (FAILED,) if only_failed else SYNC_STATES, record_id)


def resync(form_type: str | None, only_failed: bool, actor: str, record_id: str | None = None) -> int:
    """Queue the records `plan_resync` picks for delivery again, audited as `actor`; returns how many were
    queued (0 for a `record_id` whose delivery is already waiting)."""
    return jobs.queue_planned(plan_resync(form_type, only_failed, record_id), actor=actor)


def forms_received(since: datetime) -> int:
    """Forms of the four types created since `since` (the console's overview): one statement, a count per
    table through its created_at index."""
    counts = [select(func.count()).select_from(form.model).where(form.model.created_at >= since).scalar_subquery()
              for form in FORMS.values()]
    return sum(db.session.execute(select(*counts)).one())


# The console's reading ---------------------------------------------------------------------------------

def _records(form: Form, sync_status: str | None):
    query = select(form.model)
    return query.where(form.model.sync_status == sync_status) if sync_status else query


def newest_records(form: Form, sync_status: str | None, limit: int,
                   after: str | None = None) -> tuple[list[SyncedRecord], str | None]:
    """(a keyset page of the form's records, newest first, in `sync_status` or any; the next page's cursor
    or None). Raises `Invalid` for a cursor the list did not give."""
    return newest_page(_records(form, sync_status), form.model.created_at, form.model.id, limit, after)


def every_record(form: Form, sync_status: str | None) -> Iterator[SyncedRecord]:
    """Every record of the form (in `sync_status`), newest first, read in batches: for an export."""
    return every_newest(_records(form, sync_status), form.model.created_at, form.model.id)


def find_record(form: Form, record_id: str) -> SyncedRecord:
    """Raises RecordNotFound."""
    record = db.session.get(form.model, record_id)
    if record is None:
        raise RecordNotFound(f"No {form.label.lower()} has the id {record_id}")
    return record


def last_sync_messages(record_ids: Iterable[str]) -> dict[str, Any]:
    """The latest dashboard-sync outbox message of each record that has one (its status, attempts, and the
    dashboard's last answer: last_status_code, last_error). One indexed read per record: pass a page."""
    found = {}
    for record_id in record_ids:
        if messages := outbox.messages_of(record_id, jobs.SYNC_KIND):
            found[record_id] = messages[-1]
    return found


def sync_deliveries(record_id: str) -> list[dict[str, Any]]:
    """The record's dashboard-sync messages, oldest first, each with every attempt (`outbox.trace`)."""
    return outbox.trace(record_id)[1]
