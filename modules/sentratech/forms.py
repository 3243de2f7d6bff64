"""The four forms the marketing site posts, each tying its URL name to its table and its schema."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from marshmallow import Schema

from modules.core.types import isoformat
from modules.sentratech.models import ContactRequest, DemoRequest, RoiReport, Subscription, SyncedRecord
from modules.sentratech.schemas import ContactRequestSchema, DemoRequestSchema, RoiReportSchema, SubscriptionSchema


@dataclass(frozen=True)
class Form:
    name: str  # in /api/ingest/<name> and in the dashboard's /v1/<name>
    label: str  # "<label> received"
    model: type[SyncedRecord]
    schema: type[Schema]
    recent_key: str  # where the status answer lists the latest records

    @cached_property
    def fields(self) -> tuple[str, ...]:
        """The fields a client sends, in the schema's order: what is stored and what the dashboard gets."""
        return tuple(self.schema().fields)

    def body(self, record: SyncedRecord) -> dict[str, Any]:
        """The record as the client sent it (validated, trimmed, defaults filled) plus id and created_at:
        what the dashboard gets and what a read key lists."""
        return {"id": record.id, **{name: getattr(record, name) for name in self.fields},
                "created_at": isoformat(record.created_at)}


FORMS: dict[str, Form] = {form.name: form for form in (
    Form("demo_requests", "Demo request", DemoRequest, DemoRequestSchema, "recent_requests"),
    Form("contact_requests", "Contact request", ContactRequest, ContactRequestSchema, "recent_requests"),
    Form("roi_reports", "ROI report", RoiReport, RoiReportSchema, "recent_reports"),
    Form("subscriptions", "Subscription", Subscription, SubscriptionSchema, "recent_subscriptions"),
)}
