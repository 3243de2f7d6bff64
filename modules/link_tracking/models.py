"""Tables of the link tracking domain: tracked links and the clicks recorded on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from modules.core.extensions import db
from modules.core.types import UTCDateTime, utcnow

# Unlike the core's JSONType, an absent value is SQL NULL rather than the JSON literal `null`.
NullableJSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class TrackedLink(db.Model):
    """A link whose clicks are counted. Ids seen first in a click batch are registered automatically
    (`auto_registered`, no destination) so that no valid click is ever refused for an unknown id."""

    __tablename__ = "link_tracking"

    tracking_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    original_url: Mapped[str | None] = mapped_column(String(2000))
    link_function: Mapped[str | None] = mapped_column(String(50), index=True)
    link_type: Mapped[str | None] = mapped_column(String(50), index=True)
    description: Mapped[str | None] = mapped_column(String(500))
    job_id: Mapped[str | None] = mapped_column(String(100))
    application_id: Mapped[str | None] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(default=True)
    auto_registered: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class LinkClick(db.Model):
    """One click. Written in bulk by the batch ingest (plain rows, never one ORM object per event)."""

    __tablename__ = "link_clicks"
    __table_args__ = (Index("ix_link_clicks_tracking_id_clicked_at", "tracking_id", "clicked_at"),)

    click_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    tracking_id: Mapped[str] = mapped_column(ForeignKey("link_tracking.tracking_id", ondelete="CASCADE"))
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    referrer_url: Mapped[str | None] = mapped_column(String(1000))
    session_id: Mapped[str | None] = mapped_column(String(100))
    click_source: Mapped[str] = mapped_column(String(50), default="external_domain")
    # The column is called `metadata` as in the original; that attribute name is reserved by SQLAlchemy.
    event_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", NullableJSON)
    # Chosen by the client so that a retried batch stores each event once.
    event_id: Mapped[str | None] = mapped_column(String(100), unique=True)
