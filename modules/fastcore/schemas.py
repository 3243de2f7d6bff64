"""Schemas of the FASTCore endpoints (they are also the OpenAPI documentation at /docs).

Request schemas, nested ones included, are the core's `RequestSchema`: unknown keys in a lead are
ignored, as the original FastAPI service did, so a site that sends an extra form field keeps working,
and `null` in an optional field means "not given" (pydantic-style clients write `"phone": null`).
Every text field refuses NUL characters and lone surrogates, which the database cannot store, so
such input is a 422 rather than a 500. Values are read as leniently as the original (pydantic, lax
mode) read them where the meaning stays the same: enum values in any ASCII case (stored in their
canonical spelling), digit strings for integers, a boolean's usual words in any case.
"""

from __future__ import annotations

from marshmallow import Schema, fields, post_load, validate

from modules.core.fields import CanonicalChoice, DateTimeUTC, EmailAddress, StorableString
from modules.core.paging import PageQuerySchema, PageSchema
from modules.core.schemas import RequestSchema
from modules.fastcore.models import LEAD_STATUSES, SERVICES


class TrimmedText(StorableString):
    """A string with its surrounding whitespace removed (Unicode whitespace, as str.strip() reads it). A
    required one may not be blank: "   " says nothing, and would be stored and mailed as is. An optional
    blank one is left empty; the schema's post_load turns it into None ("not given")."""

    default_error_messages = {"blank": "Must not be blank."}

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text and self.required:
            raise self.make_error("blank")
        return text


class LaxBoolean(fields.Boolean):
    """A boolean read as pydantic's lax mode (the original service) read one: true/false, 0/1 (also 0.0 and
    1.0), or text that is, in any ASCII letter case, one of 1/0, true/false, t/f, yes/no, y/n, on/off (an
    HTML checkbox sends "on", some form libraries "True" or "YES"). Anything else, surrounding whitespace
    included, is refused rather than guessed."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.isascii():
            value = value.lower()
        return super()._deserialize(value, attr, data, **kwargs)


def _blank_as_none(data: dict, *keys: str) -> dict:
    return {**data, **{key: data.get(key) or None for key in keys}}


class LeadMetaSchema(RequestSchema):
    source = StorableString(required=True, validate=validate.Length(min=1, max=100))
    # Not a UUID (empty, too long, anything else) is the contract's 400 "Validation error: ...", not a 422.
    request_id = StorableString(required=True, metadata={
        "description": "UUID chosen by the site; a second post with it is refused"})
    ip_hash = StorableString(required=True, validate=validate.Length(min=1, max=128),
                             metadata={"description": "Hash of the client IP (a raw IP is never stored)"})
    timestamp_utc = DateTimeUTC(required=True, metadata={"description": "ISO 8601; naive means UTC; kept in UTC"})
    user_agent_hash = TrimmedText(load_default=None, allow_none=True, validate=validate.Length(max=128))

    @post_load
    def timestamp_as_text(self, data, **_kwargs):
        data["timestamp_utc"] = data["timestamp_utc"].isoformat()
        return _blank_as_none(data, "user_agent_hash")


class LeadInSchema(RequestSchema):
    name = TrimmedText(required=True, validate=validate.Length(max=200))
    email = EmailAddress(required=True, validate=validate.Length(max=254),
                         error_messages={"invalid_email": "value is not a valid email address: {reason}"})
    phone = TrimmedText(load_default=None, allow_none=True, validate=validate.Length(max=50))
    company = TrimmedText(load_default=None, allow_none=True, validate=validate.Length(max=200))
    service = CanonicalChoice(SERVICES, load_default=None, allow_none=True)
    message = TrimmedText(required=True, validate=validate.Length(max=10000))
    consent = LaxBoolean(required=True, metadata={"description": "true: the lead gets a welcome e-mail"})
    meta = fields.Nested(LeadMetaSchema, required=True)

    @post_load
    def blanks_as_none(self, data, **_kwargs):
        return _blank_as_none(data, "phone", "company")


class LeadAcceptedSchema(Schema):
    leadId = fields.String()
    timestamp = fields.String()
    status = fields.String(metadata={"description": "received (stored) or queued (database down, kept safe)"})


class DuplicateSchema(Schema):
    detail = fields.String()
    leadId = fields.String()


class LeadListQuerySchema(PageQuerySchema):
    status_filter = CanonicalChoice(LEAD_STATUSES)


class LeadSummarySchema(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    service = fields.String(allow_none=True)
    status = fields.String()
    created_at = fields.DateTime()


class LeadPageSchema(PageSchema):
    leads = fields.List(fields.Nested(LeadSummarySchema))


class AuditLogSchema(Schema):
    event = fields.String()
    actor = fields.String(allow_none=True)
    status_code = fields.Integer(allow_none=True)
    details = fields.Dict()
    created_at = fields.DateTime()


class LeadDetailSchema(LeadSummarySchema):
    request_id = fields.String()
    phone = fields.String(allow_none=True)
    company = fields.String(allow_none=True)
    message = fields.String()
    consent = fields.Boolean()
    meta = fields.Dict()
    received_via = fields.String(metadata={"description": "direct, or the fallback store it came through"})
    updated_at = fields.DateTime()
    audit_logs = fields.List(fields.Nested(AuditLogSchema))


class StatusQuerySchema(RequestSchema):
    """`new_status` is checked by `services.change_status`: the contract answers a value that is not a status
    with a 400, before the lead is looked up, not with the 422 of a schema."""

    new_status = fields.String(required=True, metadata={"description": " | ".join(LEAD_STATUSES) + " (any case)"})


class StatusChangedSchema(Schema):
    id = fields.String()
    status = fields.String()


class EmailHealthSchema(Schema):
    smtp_configured = fields.Boolean()
    pending = fields.Integer()
    delivered = fields.Integer()
    dead = fields.Integer()


class ScheduledJobSchema(Schema):
    id = fields.String()
    name = fields.String()
    next_run_time = fields.String(allow_none=True)


class AdminHealthSchema(Schema):
    status = fields.String()
    scheduler_running = fields.Boolean()
    jobs = fields.List(fields.Nested(ScheduledJobSchema))
    emails = fields.Nested(EmailHealthSchema)


class SchedulerJobsSchema(Schema):
    jobs = fields.List(fields.Nested(ScheduledJobSchema))
    scheduler_running = fields.Boolean()


class QueueStatsSchema(Schema):
    queue_size = fields.Integer()
    oldest_form = fields.String(allow_none=True, metadata={"description": "When the oldest queued lead came in"})
    by_retry_count = fields.Dict(keys=fields.String(), values=fields.Integer(),
                                 metadata={"description": "\"3\" counts dead leads (replay or clear them)"})
    timestamp = fields.String()
    emails = fields.Nested(EmailHealthSchema)


class FlushResultSchema(Schema):
    status = fields.String()
    flushed = fields.Integer()
    duplicates = fields.Integer()
    failed = fields.Integer()
    dead = fields.Integer()
    remaining = fields.Integer()
    already_running = fields.Boolean()


class QueueClearedSchema(Schema):
    status = fields.String()
    message = fields.String()


class QueueReplayedSchema(Schema):
    status = fields.String()
    replayed = fields.Integer()
