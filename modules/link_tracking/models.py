"""Tables of the link tracking domain: tracked links, the clicks recorded on them, the event ids already
stored (retries) and the daily rollup that analytics read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, Uuid
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
    """One click. Written in bulk by `storage.store_rows` (plain rows, never one ORM object per event).

    On PostgreSQL the table is partitioned by month of `clicked_at` (partitions.py), so the partition key is
    part of the primary key and of every unique index: the event-id dedupe lives in LinkClickEvent."""

    __tablename__ = "link_clicks"
    __table_args__ = (
        # Covering for unique sessions: count(DISTINCT session_id) of a link's window reads the index only.
        Index("ix_link_clicks_tracking_id_clicked_at", "tracking_id", "clicked_at", postgresql_include=["session_id"]),
        {"postgresql_partition_by": "RANGE (clicked_at)"},
    )

    click_id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True)
    tracking_id: Mapped[str] = mapped_column(ForeignKey("link_tracking.tracking_id", ondelete="CASCADE"))
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    referrer_url: Mapped[str | None] = mapped_column(String(1000))
    session_id: Mapped[str | None] = mapped_column(String(100))
    click_source: Mapped[str] = mapped_column(String(50), default="external_domain")
    # The column is called `metadata` as in the original; that attribute name is reserved by SQLAlchemy.
    event_metadata: Mapped[dict[str, Any] | None] = mapped_column("metadata", NullableJSON)
    # Chosen by the client so that a retried batch stores each event once (see LinkClickEvent).
    event_id: Mapped[str | None] = mapped_column(String(100))


class LinkClickEvent(db.Model):
    """An event id already stored, with the clicked_at of its click (retention deletes it with that month).
    A retried event may carry another clicked_at (absent = time received), so the dedupe cannot be a unique
    index of the partitioned clicks table."""

    __tablename__ = "link_click_events"

    event_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LinkClickDaily(db.Model):
    """Clicks per link, UTC day and source, kept by the ingest transaction from the clicks it stored: analytics
    read this, O(days x sources) rather than O(clicks)."""

    __tablename__ = "link_click_daily"

    tracking_id: Mapped[str] = mapped_column(ForeignKey("link_tracking.tracking_id", ondelete="CASCADE"),
                                             primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    click_source: Mapped[str] = mapped_column(String(50), primary_key=True)
    clicks: Mapped[int] = mapped_column(BigInteger)
    first_clicked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_clicked_at: Mapped[datetime] = mapped_column(UTCDateTime)
