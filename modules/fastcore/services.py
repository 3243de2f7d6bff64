"""Leads: ingest (stored, refused as a duplicate, or queued when the database is down), the write of a
queued lead by the flush, and what the admin API reads and changes. Nothing here knows flask.request:
refusals are the domain exceptions below, which the routes answer with the contract's bodies.

Every lead write is one transaction: the lead, its audit entries and its e-mail outbox rows commit
together. Audit entries of a lead carry the lead id as subject and the site's request_id.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from modules.core import audit, metrics, outbox, scheduler
from modules.core.exceptions import Conflict, Invalid, NotFound, Unavailable
from modules.core.extensions import db
from modules.core.fields import CanonicalChoice
from modules.core.mail import smtp_configured
from modules.core.models import AuditEntry
from modules.core.paging import page
from modules.core.redis_client import REDIS_ERRORS, get_redis
from modules.core.sql import on_postgresql
from modules.core.types import isoformat, new_id, utcnow
from modules.fastcore import queue_store
from modules.fastcore.jobs import ALERT_KIND, EMAIL_KINDS, WELCOME_KIND
from modules.fastcore.models import DOMAIN, LEAD_STATUSES, Lead

log = logging.getLogger(__name__)

# What "the database is unavailable" looks like: the lead is queued rather than refused.
DATABASE_DOWN = (OperationalError, InterfaceError)
FLUSH_ACTOR = "flush-job"
LEAD_STATUS = CanonicalChoice(LEAD_STATUSES)


class InvalidRequestId(Invalid):
    """The site's request_id is not a UUID."""


class DuplicateRequest(Conflict):
    """The request_id was already received: `lead_id` is the lead it was stored or queued as."""

    def __init__(self, lead_id: str):
        super().__init__("Duplicate request (request_id already processed)")
        self.lead_id = lead_id


class InvalidStatus(Invalid):
    """Not one of the lead statuses."""


class LeadNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("Lead not found")


@dataclass(frozen=True)
class Accepted:
    lead_id: str
    timestamp: str
    status: str  # received | queued


def canonical_request_id(value: str) -> str:
    """The site's request_id as a canonical UUID, so that one id written two ways is one request."""
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise InvalidRequestId(f"Validation error: {exc}") from exc


def lead_record(data: dict[str, Any], lead_id: str, received_at: datetime) -> dict[str, Any]:
    """A validated lead as JSON-ready data: what is stored, or queued while the database is down."""
    fields = ("name", "email", "phone", "company", "service", "message", "consent")
    return {"id": lead_id, "request_id": data["meta"]["request_id"], **{key: data[key] for key in fields},
            "meta": data["meta"], "created_at": isoformat(received_at)}


def ingest_lead(data: dict[str, Any], actor: str) -> Accepted:
    """Store a validated lead posted by `actor` (audited as such). Raises InvalidRequestId, DuplicateRequest,
    or Unavailable when the database, Redis and the local file are all unavailable. A duplicate is found by
    the request_id's unique constraint, not by a SELECT first: new leads, nearly all, cost no extra round
    trip, and the answer names the record's id without reading the committed row back."""
    request_id = canonical_request_id(data["meta"]["request_id"])
    record = lead_record({**data, "meta": {**data["meta"], "request_id": request_id}}, new_id(), utcnow())
    details = {"source": record["meta"]["source"], "service": record["service"]}
    try:
        if on_postgresql():
            _store_received(record, actor, details)
        else:
            _new_lead(record, via="direct")
            audit.record(DOMAIN, "lead.received", actor=actor, subject_id=record["id"], request_id=request_id,
                         status_code=201, details=details)
            db.session.commit()
        metrics.ingested(DOMAIN)
        return Accepted(record["id"], record["created_at"], "received")
    except IntegrityError:
        db.session.rollback()  # the request_id's unique constraint: a duplicate, refused below
        existing = stored_lead_id(request_id)
        if existing is None:
            raise
    except DATABASE_DOWN as exc:
        db.session.rollback()
        return _queue(record, actor, exc)
    audit.record(DOMAIN, "lead.duplicate_refused", actor=actor, subject_id=existing, request_id=request_id,
                 status_code=400, details={"stage": "ingest"})
    db.session.commit()
    raise DuplicateRequest(existing)


def _queue(record: dict[str, Any], actor: str, cause: Exception) -> Accepted:
    try:
        store, already_queued = queue_store.enqueue(queue_store.new_entry(record, actor, utcnow()))
    except OSError as exc:
        raise Unavailable("Lead storage unavailable, please retry") from exc
    if already_queued:
        log.info("duplicate request refused while queued", extra={"lead_id": already_queued})
        raise DuplicateRequest(already_queued)
    log.warning("database unavailable, lead queued",
                extra={"lead_id": record["id"], "store": store, "error": type(cause).__name__})
    return Accepted(record["id"], record["created_at"], "queued")


def stored_lead_id(request_id: str) -> str | None:
    return db.session.scalar(select(Lead.id).where(Lead.request_id == request_id))


_INSERT_LEAD = Lead.__table__.insert()


def _new_lead(record: dict[str, Any], via: str) -> None:
    """Insert the lead and add its e-mails to the transaction (the caller commits). A plain INSERT, not an
    ORM object: this is on every lead's hot path. Raises IntegrityError when its request_id is taken."""
    created_at = datetime.fromisoformat(record["created_at"])
    db.session.connection().execute(_INSERT_LEAD, {
        "id": record["id"], "request_id": record["request_id"], "name": record["name"], "email": record["email"],
        "phone": record["phone"], "company": record["company"], "service": record["service"],
        "message": record["message"], "consent": record["consent"], "meta": record["meta"], "status": "received",
        "received_via": via, "created_at": created_at, "updated_at": created_at})
    if record["consent"]:
        outbox.add(WELCOME_KIND, {"lead_id": record["id"]}, subject_id=record["id"])
    outbox.add(ALERT_KIND, {"lead_id": record["id"]}, subject_id=record["id"])


_LEAD_COLUMNS = ("id", "request_id", "name", "email", "phone", "company", "service", "message", "consent", "meta")
_STORE_RECEIVED = (
    f"WITH lead AS (INSERT INTO {Lead.__tablename__} ({', '.join(_LEAD_COLUMNS)}, status, received_via, created_at, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'received', 'direct', $11, $11) "
    "RETURNING id, request_id, consent, created_at), "
    f"audit AS (INSERT INTO {AuditEntry.__tablename__} (domain, event, actor, subject_id, request_id, status_code, "
    f"details, created_at) SELECT '{DOMAIN}', 'lead.received', $12::varchar, id, request_id, 201, $13::jsonb, "
    "created_at FROM lead), "
    "welcome AS ("
    + outbox.insert_messages_sql(WELCOME_KIND, "$14", "jsonb_build_object('lead_id', id)", "id", "created_at",
                                 "lead WHERE consent") + ") "
    + outbox.insert_messages_sql(ALERT_KIND, "$15", "jsonb_build_object('lead_id', id)", "id", "created_at", "lead"))


def _store_received(record: dict[str, Any], actor: str, details: dict[str, Any]) -> None:
    """PostgreSQL: what `_new_lead` and the `lead.received` audit entry write, in ONE statement (data-modifying
    CTEs) PREPAREd once per pooled connection and run in autocommit: all of it is stored or none. Raises
    IntegrityError when the request_id is taken."""
    values = [record[name] for name in _LEAD_COLUMNS]
    values[-1] = json.dumps(record["meta"])
    outbox.store_prepared("fastcore_store_received", _STORE_RECEIVED, (
        *values, datetime.fromisoformat(record["created_at"]), actor, json.dumps(details), new_id(), new_id()))


def write_queued_lead(entry: queue_store.Entry, store: str) -> str:
    """Write one queued lead with its audit trail (queued, failed attempts, flushed) and its e-mails.
    Returns flushed, already_stored (an earlier flush wrote it) or duplicate (its request_id was
    stored meanwhile under another lead). Database errors propagate to the flush."""
    record = entry["lead"]
    existing = stored_lead_id(record["request_id"])
    if existing is None:
        trail = {"subject_id": record["id"], "request_id": record["request_id"]}
        try:
            _new_lead(record, via=store)
            audit.record(DOMAIN, "lead.queued", actor=queue_store.posted_by(entry), status_code=202,
                         details={"store": store, "queued_at": entry["queued_at"]}, **trail)
            for number, failure in enumerate(entry["failures"], 1):
                audit.record(DOMAIN, "lead.flush_failed", actor=FLUSH_ACTOR,
                             details={"attempt": number, "at": failure["at"], "error": failure["error"]}, **trail)
            audit.record(DOMAIN, "lead.flushed", actor=FLUSH_ACTOR, status_code=201,
                         details={"store": store, "failed_attempts": len(entry["failures"])}, **trail)
            db.session.commit()
            return "flushed"
        except IntegrityError:
            db.session.rollback()
            existing = stored_lead_id(record["request_id"])
            if existing is None:
                raise
    if existing == record["id"]:
        return "already_stored"
    audit.record(DOMAIN, "lead.duplicate_refused", actor=FLUSH_ACTOR, subject_id=existing,
                 request_id=record["request_id"], details={"stage": "flush", "dropped_lead_id": record["id"]})
    db.session.commit()
    return "duplicate"


# Admin ----------------------------------------------------------------------------------------------

def list_leads(limit: int, offset: int, status: str | None) -> tuple[int, list[Lead]]:
    """(how many leads in all, this page of them newest first); `status` keeps one status."""
    query = select(Lead)
    if status:
        query = query.where(Lead.status == status)
    return page(query, limit, offset, Lead.created_at.desc(), Lead.id.desc())


def find_lead(lead_id: str) -> Lead:
    """Raises LeadNotFound for an unknown id, including one that is not a UUID at all."""
    try:
        uuid.UUID(lead_id)
    except ValueError:
        raise LeadNotFound() from None
    lead = db.session.get(Lead, lead_id)
    if lead is None:
        raise LeadNotFound()
    return lead


def lead_detail(lead_id: str) -> dict[str, Any]:
    """Every column of the lead, and its audit trail oldest first. Raises LeadNotFound."""
    lead = find_lead(lead_id)
    return {**{column.key: getattr(lead, column.key) for column in Lead.__table__.columns},
            "audit_logs": audit.trail(DOMAIN, lead.id)}


def canonical_status(value: str) -> str:
    """A lead status given in any ASCII case, in its canonical spelling ("RESOLVED" -> "resolved"). Raises
    InvalidStatus naming the statuses."""
    try:
        return LEAD_STATUS.deserialize(value)
    except ValidationError:
        raise InvalidStatus(f"Invalid status. Must be one of: {', '.join(LEAD_STATUSES)}") from None


def change_status(lead_id: str, new_status: str, actor: str) -> Lead:
    """Move the lead to `new_status` (any case), audited as `actor`. The status is checked before the lead
    is looked up, as the contract says: raises InvalidStatus, then LeadNotFound."""
    status = canonical_status(new_status)
    lead = find_lead(lead_id)
    previous = lead.status
    lead.status = status
    audit.record(DOMAIN, "lead.status_changed", actor=actor, subject_id=lead.id, status_code=200,
                 details={"from": previous, "to": status})
    db.session.commit()
    return lead


def scheduler_view() -> dict[str, Any]:
    """Whether a scheduler is alive and the periodic jobs with their next run (unknown without Redis)."""
    try:
        status = scheduler.status(get_redis())
    except REDIS_ERRORS:
        status = {"running": False, "jobs": [{"id": job.id, "name": job.name, "next_run_time": None}
                                             for job in scheduler.registered_jobs()]}
    return {"scheduler_running": status["running"],
            "jobs": [{key: job[key] for key in ("id", "name", "next_run_time")} for job in status["jobs"]]}


def email_health() -> dict[str, Any]:
    """Whether SMTP is configured, and the lead e-mails by outbox status (pending, delivered, dead)."""
    return {"smtp_configured": smtp_configured(current_app.config), **outbox.counts(EMAIL_KINDS)}


def leads_received(since: datetime) -> int:
    """Leads stored since `since` (the console's overview), counted through the created_at index."""
    return db.session.scalar(select(func.count()).select_from(Lead).where(Lead.created_at >= since))
