"""The four form records. One table per form: each has typed columns a report can query directly,
and the shared part (id, sync state, timestamps) comes from one mixin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from modules.core.extensions import db
from modules.core.types import UTCDateTime, new_id, utcnow

PENDING = "pending_dashboard_sync"
SYNCED = "synced_to_dashboard"
FAILED = "sync_failed"
SYNC_STATES = (PENDING, SYNCED, FAILED)
FORM_TYPES = ("demo_requests", "contact_requests", "roi_reports", "subscriptions")


class SyncedRecord:
    """Columns every form shares: its id, its revision, where its dashboard sync stands, and when it
    changed. The revision starts at 1 and grows by one with every change of the record's content; the
    dashboard sync sends `Idempotency-Key: <id>:<revision>`, so each version is a new request to a
    dashboard that replays its stored answer for a key it knows. `synced_to_dashboard` means the
    current revision was delivered."""

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    sync_status: Mapped[str] = mapped_column(String(30), default=PENDING, index=True)
    sync_error: Mapped[str | None] = mapped_column(String(500))
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def idempotency_key(self) -> str:
        """`<id>:<revision>`: one key per version of the record, read from the same row as its body."""
        return f"{self.id}:{self.revision}"


class DemoRequest(SyncedRecord, db.Model):
    __tablename__ = "sentratech_demo_request"

    user_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    company: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    company_website: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(50))
    source: Mapped[str | None] = mapped_column(String(100))
    call_volume: Mapped[int] = mapped_column(Integer, default=0)
    interaction_volume: Mapped[int] = mapped_column(Integer, default=0)


class ContactRequest(SyncedRecord, db.Model):
    __tablename__ = "sentratech_contact_request"

    full_name: Mapped[str] = mapped_column(String(200))
    work_email: Mapped[str] = mapped_column(String(254))
    company_name: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    company_website: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(50))
    assigned_rep: Mapped[str | None] = mapped_column(String(200))
    call_volume: Mapped[int] = mapped_column(Integer, default=0)
    interaction_volume: Mapped[int] = mapped_column(Integer, default=0)
    preferred_contact_method: Mapped[str] = mapped_column(String(10), default="Email")
    status: Mapped[str] = mapped_column(String(20), default="pending")


class RoiReport(SyncedRecord, db.Model):
    __tablename__ = "sentratech_roi_report"

    country: Mapped[str] = mapped_column(String(100))
    monthly_volume: Mapped[int] = mapped_column(Integer)
    bpo_spending: Mapped[float] = mapped_column(Float)
    sentratech_spending: Mapped[float] = mapped_column(Float)
    sentratech_bundles: Mapped[float] = mapped_column(Float)
    monthly_savings: Mapped[float] = mapped_column(Float)
    roi: Mapped[float] = mapped_column(Float)
    cost_reduction: Mapped[float] = mapped_column(Float)
    contact_email: Mapped[str] = mapped_column(String(254))


class Subscription(SyncedRecord, db.Model):
    """One row per e-mail address (stored lower-cased): subscribing again updates it."""

    __tablename__ = "sentratech_subscription"

    email: Mapped[str] = mapped_column(String(254), unique=True)
    source: Mapped[str] = mapped_column(String(100), default="website")
    status: Mapped[str] = mapped_column(String(20), default="subscribed")
