"""The lead inbox. Audit entries live in the core's audit_log (domain "fastcore", subject_id = lead id)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from modules.core.extensions import db
from modules.core.types import JSONType, UTCDateTime, new_id, utcnow

DOMAIN = "fastcore"  # the audit log's domain of every FASTCore entry
LEAD_STATUSES = ("received", "processing", "resolved", "archived")
SERVICES = ("ponts", "cabines", "compresseurs", "diagnostic", "autre")


class Lead(db.Model):
    """A contact-form lead. `meta` holds what the site sent about the submission (hashes, never a raw IP)."""

    __tablename__ = "lead_inbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    request_id: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(50))
    company: Mapped[str | None] = mapped_column(String(200))
    service: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    consent: Mapped[bool]
    meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="received", index=True)
    received_via: Mapped[str] = mapped_column(String(20), default="direct")  # direct | fallback queue store name
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
