"""Request and answer schemas of the ingest API (they are also its OpenAPI documentation).

Field rules follow the contract, which reads types as the FastAPI original (pydantic, lax mode) did:
strings are trimmed, required strings may not be blank; integers and numbers may come as JSON numbers
or as numeric text (`"50000"` from a form's text input), never as "50,000", "" or true; enum values are
matched in any case and stored in their canonical spelling; unknown keys are ignored and `null` in an
optional field means "not given" (`RequestSchema`).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from modules.core.fields import CanonicalChoice, EmailAddress, LaxInteger, LaxNumber, StorableString
from modules.core.paging import PageQuerySchema, PageSchema
from modules.core.schemas import RequestSchema
from modules.sentratech.models import FORM_TYPES, SYNC_STATES

NAME_MAX = 200
MESSAGE_MAX = 5000
MAX_VOLUME = 2**31 - 1  # the largest value the integer columns hold
SOURCE_MAX = 100
DEFAULT_SOURCE = "website"
CONTACT_METHODS = ("Email", "Phone")
CONTACT_STATES = ("pending", "in_progress", "closed")
SUBSCRIPTION_STATES = ("subscribed", "unsubscribed")


class TrimmedString(StorableString):
    """A string with surrounding whitespace removed and at most `max_length` characters. A required
    one may not be blank; a blank optional one is stored as null. NUL characters and lone surrogates
    (JSON allows "\\ud800") are refused: they cannot be stored as UTF-8 text."""

    default_error_messages = {"blank": "Must not be blank.", "too_long": "Longer than maximum length {max}."}

    def __init__(self, max_length: int, **kwargs: Any):
        metadata = {"maxLength": max_length, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        trimmed = super()._deserialize(value, attr, data, **kwargs).strip()
        if len(trimmed) > self.max_length:
            raise self.make_error("too_long", max=self.max_length)
        if not trimmed and self.required:
            raise self.make_error("blank")
        return trimmed or None


def required_text(max_length: int) -> TrimmedString:
    return TrimmedString(max_length, required=True)


def optional_text(max_length: int) -> TrimmedString:
    return TrimmedString(max_length, load_default=None, allow_none=True)


def volume(**kwargs: Any) -> LaxInteger:
    return LaxInteger(validate=validate.Range(min=0, max=MAX_VOLUME), **kwargs)


def amount() -> LaxNumber:
    return LaxNumber(required=True)


class FormSchema(RequestSchema):
    """A form's body: unknown keys ignored, `null` in an optional field means "not given"."""


class DemoRequestSchema(FormSchema):
    user_name = required_text(NAME_MAX)
    email = EmailAddress(required=True)
    company = required_text(NAME_MAX)
    message = required_text(MESSAGE_MAX)
    company_website = optional_text(500)
    phone = optional_text(50)
    source = optional_text(100)
    call_volume = volume(load_default=0)
    interaction_volume = volume(load_default=0)


class ContactRequestSchema(FormSchema):
    full_name = required_text(NAME_MAX)
    work_email = EmailAddress(required=True)
    company_name = required_text(NAME_MAX)
    message = required_text(MESSAGE_MAX)
    company_website = optional_text(500)
    phone = optional_text(50)
    assigned_rep = optional_text(NAME_MAX)
    call_volume = volume(load_default=0)
    interaction_volume = volume(load_default=0)
    preferred_contact_method = CanonicalChoice(CONTACT_METHODS, load_default="Email")
    status = CanonicalChoice(CONTACT_STATES, load_default="pending")


class RoiReportSchema(FormSchema):
    country = required_text(100)
    monthly_volume = volume(required=True)
    bpo_spending = amount()
    sentratech_spending = amount()
    sentratech_bundles = amount()
    monthly_savings = amount()
    roi = amount()
    cost_reduction = amount()
    contact_email = EmailAddress(required=True)


class SubscriptionSchema(FormSchema):
    """`source` has no default here: a new subscription without one gets DEFAULT_SOURCE, an update
    without one keeps the stored source (services.ingest)."""

    email = EmailAddress(required=True)
    source = TrimmedString(SOURCE_MAX, metadata={"description": f"Any text; `{DEFAULT_SOURCE}` for a new "
                                                               "subscription without one, else the stored one"})
    status = CanonicalChoice(SUBSCRIPTION_STATES, load_default="subscribed")


class IngestAnswerSchema(Schema):
    status = fields.String(metadata={"example": "success"})
    id = fields.String(metadata={"description": "The record's id (a subscription keeps its first id)"})
    message = fields.String(metadata={"example": "Demo request received"})
    dashboard_status = fields.String(metadata={"example": "queued"})


class SyncCountsSchema(Schema):
    pending = fields.Integer()
    synced = fields.Integer()
    failed = fields.Integer()


class IngestStatusSchema(Schema):
    total_count = fields.Integer()
    sync = fields.Nested(SyncCountsSchema)
    recent_requests = fields.List(fields.Dict(),
                                  metadata={"description": "Demo and contact forms, with a read key only"})
    recent_reports = fields.List(fields.Dict(), metadata={"description": "ROI reports, with a read key only"})
    recent_subscriptions = fields.List(fields.Dict(), metadata={"description": "Subscriptions, with a read key only"})


class SentraTechHealthSchema(Schema):
    status = fields.String(metadata={"example": "healthy"})
    timestamp = fields.String()
    database = fields.String(metadata={"example": "connected"})
    ingest_configured = fields.Boolean()
    dashboard_configured = fields.Boolean()
    version = fields.String()


class ResyncSchema(Schema):
    type = fields.String(validate=validate.OneOf(FORM_TYPES),
                         metadata={"description": "Only this form; every form when left out"})
    only_failed = fields.Boolean(load_default=False, metadata={"description": "Only records in sync_failed"})


class ResyncAnswerSchema(Schema):
    queued = fields.Integer(metadata={"description": "Records queued for delivery to the dashboard"})


class FailedQuerySchema(PageQuerySchema):
    type = fields.String(validate=validate.OneOf(FORM_TYPES))
    sync_status = fields.String(load_default="sync_failed", validate=validate.OneOf(SYNC_STATES))


class SyncRecordSchema(Schema):
    id = fields.String()
    type = fields.String()
    sync_status = fields.String()
    sync_error = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


class SyncRecordPageSchema(PageSchema):
    records = fields.List(fields.Nested(SyncRecordSchema))
