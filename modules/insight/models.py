"""Tables of the Insight domain: customers, their actions, processed batches, SMS, SMS templates and the SMS
segments queued each day."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from modules.core.extensions import db
from modules.core.types import JSONType, UTCDateTime, new_id, utcnow

CUSTOMER_STATUSES = ("connected", "disconnected", "warned")
ACTIONS = ("connect", "disconnect", "warn")
# What each action makes of the customer's status.
STATUS_AFTER = {"connect": "connected", "disconnect": "disconnected", "warn": "warned"}
SMS_SENT = "sms_sent"
ACTION_SOURCES = ("manual", "batch")
TEMPLATE_ACTIONS = ("warning", "disconnection", "connection")
BULK_SMS_RECIPIENTS = 1000  # most recipients of one bulk SMS


class Customer(db.Model):
    __tablename__ = "insight_customer"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    account_number: Mapped[str] = mapped_column(String(50), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="connected", index=True)
    arrears: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class CustomerAction(db.Model):
    """Something done to a customer: connect, disconnect, warn, or an SMS that went out."""

    __tablename__ = "insight_action"
    __table_args__ = (Index("ix_insight_action_customer_time", "customer_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("insight_customer.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(20))
    performed_by: Mapped[str] = mapped_column(String(254))
    source: Mapped[str] = mapped_column(String(20), default="manual")
    batch_id: Mapped[str | None] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ProcessedBatch(db.Model):
    """One row per applied upload batch: its id makes re-posting the same batch a no-op, and the fingerprint
    (SHA-256 of what the batch applies, `services.batches.content_fingerprint`; of the canonical request body
    for batches applied before 2026-11-30; none before that) tells a repeat from other content under the same
    id."""

    __tablename__ = "insight_batch"

    batch_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    performed_by: Mapped[str] = mapped_column(String(254))
    rows: Mapped[int] = mapped_column(Integer)
    customers_created: Mapped[int] = mapped_column(Integer)
    customers_updated: Mapped[int] = mapped_column(Integer)
    actions_created: Mapped[int] = mapped_column(Integer)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsTemplate(db.Model):
    """An operator's wording for one of the template messages; a missing row means the default."""

    __tablename__ = "insight_sms_template"

    action: Mapped[str] = mapped_column(String(20), primary_key=True)
    message: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SmsMessage(db.Model):
    """One SMS to one or more recipients, sent by the worker through the outbox. `status`: queued (waiting or
    being retried), failed when Arkesel never accepted it, else the state `services/sms_delivery.py` computes
    from `recipients`, `provider_ids` and `receipts`: sent, delivered, partially_delivered, failed or
    untracked. `provider_ids`: each recipient's Arkesel id after a send (null: Arkesel did not accept the
    number; no entry: Arkesel gave no ids). `receipts`: the last receipt of each Arkesel id, {id: {"status",
    "reason", "at"}}; `segments`: SMS parts per recipient (none for messages queued before receipts)."""

    __tablename__ = "insight_sms"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("insight_customer.id", ondelete="SET NULL"),
                                                    index=True)
    kind: Mapped[str] = mapped_column(String(20))  # custom|bulk|warning|disconnection|connection
    recipients: Mapped[list[str]] = mapped_column(JSONType)  # international form, no "+"
    message: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    provider_ids: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # recipient -> Arkesel id | None
    segments: Mapped[int | None] = mapped_column(Integer)
    receipts: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, server_default="{}")
    outbox_id: Mapped[str | None] = mapped_column(String(36))
    error: Mapped[str | None] = mapped_column(String(500))
    performed_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsUsage(db.Model):
    """SMS segments queued in one UTC day by `scope`: "hub" for the whole hub, else an operator as the audit
    log names them (`operator:<id>`); what SMS_DAILY_SEGMENT_CAP and ..._PER_OPERATOR are counted against."""

    __tablename__ = "insight_sms_usage"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    scope: Mapped[str] = mapped_column(String(254), primary_key=True)
    segments: Mapped[int] = mapped_column(Integer, default=0)
