"""Local records of DTech sales processes and their call recordings (they replace Appwrite's collections),
and the recordings' bytes until DTech has them.

The partner owns the truth; these rows follow every answer it gives, so operators can list and
inspect what their agents did without asking DTech.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from modules.core.extensions import db
from modules.core.types import UTCDateTime, new_id, utcnow

PROCESS_STATUSES = ("in_progress", "complete", "stopped")
RECORDING_STATUSES = ("pending", "uploading", "complete", "failed")


class SalesProcess(db.Model):
    __tablename__ = "dtech_sales_process"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    sales_process_id: Mapped[str] = mapped_column(String(100), unique=True)
    account_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(20), default="in_progress", index=True)
    partner_status: Mapped[str | None] = mapped_column(String(100))
    agent_id: Mapped[str | None] = mapped_column(String(100), index=True)
    lead_name: Mapped[str | None] = mapped_column(String(201))
    lead_phone: Mapped[str | None] = mapped_column(String(20))
    url_expiry: Mapped[str | None] = mapped_column(String(64))
    stop_reason: Mapped[str | None] = mapped_column(String(500))
    started_by: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    recordings: Mapped[list[CallRecording]] = relationship(
        back_populates="sales_process", order_by="CallRecording.created_at", cascade="all, delete-orphan"
    )


class CallRecording(db.Model):
    """One recording: announced to DTech (`pending`), received by the hub (`uploading`), then PUT."""

    __tablename__ = "dtech_call_recording"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)  # the upload_id
    recording_id: Mapped[str] = mapped_column(String(100), index=True)
    process_id: Mapped[str] = mapped_column(ForeignKey("dtech_sales_process.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    file_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int | None] = mapped_column(BigInteger)
    upload_url: Mapped[str] = mapped_column(Text)
    external_ref: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_until: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its PUT failed for good
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its bytes deleted after RECORDINGS_RETENTION_DAYS
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    sales_process: Mapped[SalesProcess] = relationship(back_populates="recordings")


class RecordingChunk(db.Model):
    """A slice of a received recording's bytes (chunks.py): kept until DTech accepted the PUT, or for
    RECORDINGS_RETENTION_DAYS after it failed for good. Deleted with its recording."""

    __tablename__ = "dtech_recording_chunk"

    upload_id: Mapped[str] = mapped_column(ForeignKey("dtech_call_recording.id", ondelete="CASCADE"),
                                           primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # 0, 1, ... in file order
    data: Mapped[bytes] = mapped_column(LargeBinary)
