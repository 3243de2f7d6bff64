"""Request and answer schemas of the ingest API (they are also its OpenAPI documentation).

Field rules follow the contract: strings are trimmed, required strings may not be blank, numbers
must be JSON numbers (a string such as "12" is refused), unknown keys are ignored.
"""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate

from modules.core.fields import EmailAddress, StorableString
from modules.sentratech.models import FORM_TYPES, SYNC_STATES

NAME_MAX = 200
MESSAGE_MAX = 5000
MAX_VOLUME = 2**31 - 1  # the largest value the integer columns hold


class TrimmedString(StorableString):
    """A string with surrounding whitespace removed and at most `max_length` characters. A required
    one may not be blank; a blank optional one is stored as null. NUL characters and lone surrogates
    (JSON allows "\\ud800") are refused: they cannot be stored as UTF-8 text."""

    default_error_messages = {"blank": "Must not be blank.", "too_long": "Longer than maximum length {max}."}

    def __init__(self, max_length: int, **kwargs: Any):
        super().__init__(**kwargs, metadata={"maxLength": max_length})
        self.max_length = max_length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        trimmed = super()._deserialize(value, attr, data, **kwargs).strip()
        if len(trimmed) > self.max_length:
            raise self.make_error("too_long", max=self.max_length)
        if not trimmed and self.required:
            raise self.make_error("blank")
        return trimmed or None


class StrictFloat(fields.Float):
    """A JSON number; strings that look like numbers are refused, as for the integer fields."""

    def _validated(self, value: Any) -> float:
        if isinstance(value, str):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


def required_text(max_length: int) -> TrimmedString:
    return TrimmedString(max_length, required=True)


def optional_text(max_length: int) -> TrimmedString:
    return TrimmedString(max_length, load_default=None, allow_none=True)


def volume(**kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_VOLUME), **kwargs)


def amount() -> StrictFloat:
    return StrictFloat(required=True, allow_nan=False)


class FormSchema(Schema):
    class Meta:
        unknown = EXCLUDE


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
    preferred_contact_method = fields.String(load_default="Email", validate=validate.OneOf(["Email", "Phone"]))
    status = fields.String(load_default="pending", validate=validate.OneOf(["pending", "in_progress", "closed"]))


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
    email = EmailAddress(required=True)
    source = fields.String(load_default="website", validate=validate.OneOf(["website", "landing", "referral"]))
    status = fields.String(load_default="subscribed", validate=validate.OneOf(["subscribed", "unsubscribed"]))


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
    recent_requests = fields.List(fields.Dict(), metadata={"description": "Demo and contact forms, with a key only"})
    recent_reports = fields.List(fields.Dict(), metadata={"description": "ROI reports, with a key only"})
    recent_subscriptions = fields.List(fields.Dict(), metadata={"description": "Subscriptions, with a key only"})


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


class FailedQuerySchema(Schema):
    type = fields.String(validate=validate.OneOf(FORM_TYPES))
    sync_status = fields.String(load_default="sync_failed", validate=validate.OneOf(SYNC_STATES))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10**9))


class SyncRecordSchema(Schema):
    id = fields.String()
    type = fields.String()
    sync_status = fields.String()
    sync_error = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


class SyncRecordPageSchema(Schema):
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()
    records = fields.List(fields.Nested(SyncRecordSchema))
