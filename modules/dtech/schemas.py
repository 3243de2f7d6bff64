"""Marshmallow schemas of the DTech sales API (they are also its OpenAPI documentation).

Request schemas, nested ones included, are the core's `RequestSchema`: unknown keys are ignored, as the
original FastAPI backend did, and `null` in an optional field means "not given" (DTech's guide builds
bodies with pydantic's `.dict()`, which writes `"email": null`). Every listed field is validated. Enum
values (a recording's content type, a status filter) are accepted in any ASCII case and used in their
canonical spelling; integers in a query string are read as the core's `LaxInteger` reads them.
"""

from datetime import UTC, datetime

from flask import current_app
from marshmallow import Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from modules.core.fields import CanonicalChoice, DateTimeUTC, LaxInteger, StorableString
from modules.core.paging import MAX_OFFSET, limit_field
from modules.core.schemas import RequestSchema
from modules.dtech.models import PROCESS_STATUSES, RECORDING_STATUSES

# [0-9] rather than \d (which admits other scripts' digits); \Z rather than $ (which admits a trailing newline).
PHONE = validate.Regexp(r"^\([0-9]{3}\) [0-9]{3}-[0-9]{4}\Z", error="Phone numbers look like (083) 555-5555.")
MD5_HEX = validate.Regexp(r"^[0-9a-fA-F]{32}\Z", error="Give the file's MD5 as 32 hexadecimal characters.")
PARTNER_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}\Z",
                             error="Ids are 1 to 100 letters, digits, '_', '.', ':' or '-'.")
CONTENT_TYPES = ("audio/wav", "audio/mpeg")  # canonical: MIME types are case-insensitive, DTech gets these
MAX_PAGE_SIZE = 100


def as_utc(moment: datetime) -> datetime:
    """ISO 8601 without an offset is read as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def text(max_length: int, **kwargs) -> StorableString:
    """Text DTech may receive: what the database could not store is refused before DTech is called."""
    required = kwargs.pop("required", True)
    return StorableString(required=required, validate=validate.Length(min=1, max=max_length), **kwargs)


class AccountSchema(RequestSchema):
    """`account_id` defaults to DIFFERENT_ACCOUNT_ID."""

    account_id = fields.UUID(metadata={"description": "DTech account; defaults to DIFFERENT_ACCOUNT_ID"})

    @post_load
    def default_account(self, data, **_kwargs):
        account_id = data.get("account_id") or current_app.config.get("DIFFERENT_ACCOUNT_ID")
        if not account_id:
            raise ValidationError("Missing data for required field (no default account is configured).",
                                  "account_id")
        data["account_id"] = str(account_id)
        return data


class SalesUserSchema(RequestSchema):
    external_id = text(100, metadata={"description": "The agent's id; kept as agent_id"})
    first_name = text(100)
    last_name = text(100)
    provider_id = text(100)


class SalesLeadSchema(RequestSchema):
    first_name = text(100)
    last_name = text(100)
    phone_mobile = fields.String(required=True, validate=PHONE, metadata={"example": "(083) 555-5555"})
    campaign_code = text(100)
    lead_origin = text(100)
    external_reference = text(200, required=False)
    phone_work = fields.String(validate=PHONE, metadata={"example": "(021) 555-0100"})
    email = fields.Email(validate=validate.Length(max=254))
    id_number = text(50, required=False)


class SalesStartSchema(AccountSchema):
    user = fields.Nested(SalesUserSchema, required=True)
    lead = fields.Nested(SalesLeadSchema, required=True)


class SalesContinueSchema(AccountSchema):
    """Both forms: {"account_id", "user"} and the older {"request": {"account_id"}, "user"}."""

    user = fields.Nested(SalesUserSchema, required=True)

    @pre_load
    def lift_request_account(self, data, **_kwargs):
        nested = data.get("request") if isinstance(data, dict) else None
        if isinstance(nested, dict) and nested.get("account_id") is not None and data.get("account_id") is None:
            data = {**data, "account_id": nested["account_id"]}
        return data


class SalesStopSchema(AccountSchema):
    reason = text(500, required=False, metadata={"description": "Also accepted as the `reason` query parameter"})


class SalesStopQuerySchema(RequestSchema):
    reason = text(500, required=False)


class CallRecordingUrlSchema(AccountSchema):
    date_start = DateTimeUTC(required=True, metadata={"description": "ISO 8601; UTC when no offset is given"})
    date_end = DateTimeUTC(required=True, metadata={"description": "ISO 8601, after date_start"})
    recording_hash = fields.String(required=True, validate=MD5_HEX, metadata={"description": "MD5 of the file"})
    filename = text(200)
    content_type = CanonicalChoice(CONTENT_TYPES, required=True)
    external_ref = text(200, required=False)

    @validates_schema
    def end_after_start(self, data, **_kwargs):
        start, end = data.get("date_start"), data.get("date_end")
        if start and end and as_utc(end) <= as_utc(start):
            raise ValidationError("Must be after date_start.", "date_end")

    @post_load
    def normalise(self, data, **_kwargs):
        data["date_start"], data["date_end"] = as_utc(data["date_start"]), as_utc(data["date_end"])
        data["recording_hash"] = data["recording_hash"].lower()
        return data


class ProcessPathSchema(RequestSchema):
    sales_process_id = fields.String(required=True, validate=PARTNER_ID)


class StatusPathSchema(ProcessPathSchema):
    account_id = fields.UUID(required=True)


class SalesProcessQuerySchema(RequestSchema):
    status = CanonicalChoice(PROCESS_STATUSES)
    agent_id = text(100, required=False)
    account_id = fields.UUID()
    search = text(100, required=False, metadata={"description": "Part of the lead's name or phone"})
    created_from = DateTimeUTC()
    created_to = DateTimeUTC()
    # Page numbers, as the front end reads them; the last page's offset stays within the core's MAX_OFFSET.
    page = LaxInteger(load_default=1, validate=validate.Range(min=1, max=MAX_OFFSET // MAX_PAGE_SIZE))
    limit = limit_field(50, MAX_PAGE_SIZE)


# Answers ------------------------------------------------------------------------------------------------

class SalesErrorSchema(Schema):
    detail = fields.String()
    code = fields.String()


class SalesContinueAnswerSchema(Schema):
    url = fields.String()
    url_expiry = fields.Raw()


class SalesStartAnswerSchema(SalesContinueAnswerSchema):
    sales_process_id = fields.String()


class CallRecordingUrlAnswerSchema(Schema):
    recording_id = fields.String()
    upload_url = fields.String()
    success = fields.Boolean()
    upload_id = fields.String(metadata={"description": "Upload the file at POST /api/v1/sales/recordings/<upload_id>"
                                                       "/file"})


class CallRecordingSchema(Schema):
    upload_id = fields.String(attribute="id")
    recording_id = fields.String()
    sales_process_id = fields.Function(lambda recording: recording.sales_process.sales_process_id)
    status = fields.String(metadata={"enum": list(RECORDING_STATUSES)})
    file_name = fields.String()
    content_type = fields.String()
    md5 = fields.String()
    size = fields.Integer(allow_none=True)
    external_ref = fields.String(allow_none=True)
    recorded_at = fields.DateTime()
    recorded_until = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CallRecordingUploadSchema(CallRecordingSchema):
    attempts = fields.Integer(attribute="delivery_attempts",
                              metadata={"description": "Delivery attempts to the upload URL so far"})
    last_error = fields.String(attribute="last_delivery_error", allow_none=True)


class SalesProcessSchema(Schema):
    sales_process_id = fields.String()
    status = fields.String(metadata={"enum": list(PROCESS_STATUSES)})
    partner_status = fields.String(allow_none=True)
    account_id = fields.String()
    agent_id = fields.String(allow_none=True)
    lead_name = fields.String(allow_none=True)
    lead_phone = fields.String(allow_none=True)
    url_expiry = fields.String(allow_none=True)
    stop_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class SalesProcessDetailSchema(SalesProcessSchema):
    recordings = fields.List(fields.Nested(CallRecordingSchema))


class SalesProcessPageSchema(Schema):
    data = fields.List(fields.Nested(SalesProcessSchema))
    total = fields.Integer()
    page = fields.Integer()
    limit = fields.Integer()
    pages = fields.Integer()
