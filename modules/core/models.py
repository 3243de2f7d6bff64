"""Tables of the core: operators, the outbox, its attempts and destinations, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from modules.core.extensions import db
from modules.core.types import JSONType, UTCDateTime, new_id, utcnow


class Operator(db.Model):
    """A person who signs in to the operator APIs (Insight, DTech, admin)."""

    __tablename__ = "operator"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Signed into every access token; raising it (deactivation, `flask operators revoke-tokens`) ends
    # every token issued before, and reactivation does not bring them back.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # `admin` (everything), `operator` (office domain work) or `agent` (DTech sales): modules/core/roles.py
    role: Mapped[str] = mapped_column(String(20), default="operator", server_default="operator")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsoleSession(db.Model):
    """One sign-in to the console (modules/console/sessions.py). The cookie holds a random token, this row
    its SHA-256; signing out deletes the row, deactivation deletes every row of the operator."""

    __tablename__ = "console_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("operator.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(db.Model):
    """One unit of outbound work (an HTTP call, an e-mail, an SMS), delivered at least once."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      # newest first, keyset-paginated (the console's and the API's lists)
                      Index("ix_outbox_created", "created_at", "id"),
                      Index("ix_outbox_status_created", "status", "created_at", "id"),
                      Index("ix_outbox_kind_created", "kind", "created_at", "id"),
                      # every destination's backlog and oldest pending message (outbox.control), from the index
                      Index("ix_outbox_status_kind_created", "status", "kind", "created_at"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(100))  # indexed by ix_outbox_kind_created
    subject_id: Mapped[str | None] = mapped_column(String(100), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # outbox.Status: pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxAttempt(db.Model):
    """What happened at one delivery attempt: when, the outcome, the peer's status code, a short error."""

    __tablename__ = "outbox_attempt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    outbox_id: Mapped[str] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))  # delivered|retry|dead
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))


class OutboxDestination(db.Model):
    """Where the messages of one or more outbox kinds go: its pause switch and circuit breaker, kept here so
    that they hold across restarts and on every worker (modules/core/outbox/destinations.py). A destination
    without a row is active with a closed breaker."""

    __tablename__ = "outbox_destination"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    paused: Mapped[bool] = mapped_column(default=False)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_by: Mapped[str | None] = mapped_column(String(200))
    pause_reason: Mapped[str | None] = mapped_column(String(500))
    breaker: Mapped[str] = mapped_column(String(20), default="closed")  # closed|open|half_open
    breaker_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # open: when one probe may go; half_open: when the probe's claim lapses (a worker died holding it)
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive retryable failures
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last alert about it (at most one a window)
    unsent_alert: Mapped[str | None] = mapped_column(String(500))  # an alert that could not be mailed (/health)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AuditEntry(db.Model):
    """Append-only: rows are only ever inserted (see modules/core/audit.py), and deleted only by the retention
    job once older than AUDIT_RETENTION_DAYS (modules/core/retention.py)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_created", "created_at", "id"),
                      Index("ix_audit_log_actor_created", "actor", "created_at", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    domain: Mapped[str] = mapped_column(String(50), index=True)
    event: Mapped[str] = mapped_column(String(100), index=True)
    actor: Mapped[str | None] = mapped_column(String(200))
    subject_id: Mapped[str | None] = mapped_column(String(100), index=True)
    request_id: Mapped[str | None] = mapped_column(String(100), index=True)
    status_code: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

