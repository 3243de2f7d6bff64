"""Request and answer schemas of the Insight API (they are also its OpenAPI documentation); those of SMS are
in sms_schemas.py.

Request schemas build on the core's: unknown keys are ignored, as the FastAPI backend the front end was
written for did, and `null` in an optional field means "not given" (the front end sends `"name": null`).
Enum values are accepted in any letter case and loaded in their stored spelling (`CanonicalChoice`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, pre_load, validate

from modules.core.fields import CanonicalChoice, DateTimeUTC
from modules.core.schemas import RequestSchema as CoreRequestSchema
from modules.insight.fields import (
    AccountNumber,
    Amount,
    PagedQuery,
    PageSchema,
    PersonName,
    Phone,
    Timestamp,
    page_limit,
    page_number,
)
from modules.insight.models import ACTION_SOURCES, ACTIONS, CUSTOMER_STATUSES, SMS_SENT

ID = validate.Length(min=1, max=41)  # a UUID as PostgreSQL reads one: hyphens after any 4 digits, braces


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_nul(item) for item in value)
    return False


class RequestSchema(CoreRequestSchema):
    """The core's request schema, and no NUL character anywhere in the body."""

    @pre_load(pass_collection=True)
    def refuse_nul_characters(self, data: Any, many: bool, **_kwargs: Any) -> Any:
        """PostgreSQL cannot store NUL in text: refuse it here as a 422 naming the field."""
        items = enumerate(data) if many and isinstance(data, list) else [(None, data)]
        errors: dict[Any, Any] = {}
        for index, item in items:
            if isinstance(item, Mapping):
                bad = {key: ["Must not contain NUL characters."] for key, value in item.items() if _has_nul(value)}
                if bad:
                    errors.update({index: bad} if index is not None else bad)
        if errors:
            raise ValidationError(errors)
        return data


class QuerySchema(RequestSchema, PagedQuery):
    """Query strings of lists: an empty parameter (`?status=&search=`, as the front end sends) means not given."""

    @pre_load
    def drop_empty_parameters(self, data: Any, **_kwargs: Any) -> Any:
        return {key: value for key, value in data.items() if value != ""} if isinstance(data, Mapping) else data


# Customers -------------------------------------------------------------------------------------------

class CustomerCreateSchema(RequestSchema):
    name = PersonName(required=True, metadata={"example": "Ama Mensah-Boateng"})
    account_number = AccountNumber(required=True, metadata={"example": "ACC-1001"})
    phone = Phone(required=True, metadata={"example": "024-123-4567"})
    status = CanonicalChoice(CUSTOMER_STATUSES, load_default="connected")
    arrears = Amount(load_default=Decimal("0.00"), metadata={"example": "120.50", "description": "Default 0.00"})


class CustomerUpdateSchema(RequestSchema):
    """Every field optional: only those given change."""

    name = PersonName()
    account_number = AccountNumber()
    phone = Phone()
    status = CanonicalChoice(CUSTOMER_STATUSES)
    arrears = Amount()


class CustomerSchema(Schema):
    id = fields.String()
    name = fields.String()
    account_number = fields.String()
    phone = fields.String(metadata={"description": "National form, e.g. 0241234567"})
    status = fields.String()
    arrears = Amount(metadata={"description": "Two decimals, e.g. \"120.50\""})
    created_at = Timestamp()
    updated_at = Timestamp()


class CustomerQuerySchema(QuerySchema):
    search = fields.String(validate=validate.Length(max=100),
                           metadata={"description": "Part of the name, account number or phone"})
    status = CanonicalChoice(CUSTOMER_STATUSES)
    arrears_min = Amount()
    arrears_max = Amount()
    date_from = DateTimeUTC(metadata={"description": "Created at or after (UTC without an offset)"})
    date_to = DateTimeUTC(metadata={"description": "Created before"})
    page = page_number()
    limit = page_limit()


class CustomerPageSchema(PageSchema):
    data = fields.List(fields.Nested(CustomerSchema))


class MessageSchema(Schema):
    message = fields.String()


# Actions ---------------------------------------------------------------------------------------------

class ActionCreateSchema(RequestSchema):
    """`performed_by`, which older front ends send, is ignored: an action is recorded as performed by the
    signed-in operator."""

    customer_id = fields.String(required=True, validate=ID)
    action = CanonicalChoice(ACTIONS, required=True)
    source = CanonicalChoice(ACTION_SOURCES, load_default="manual")
    batch_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=100))


class ActionSchema(Schema):
    id = fields.String()
    customer_id = fields.String()
    action = fields.String(metadata={"description": "connect, disconnect, warn or sms_sent"})
    performed_by = fields.String()
    source = fields.String()
    batch_id = fields.String(allow_none=True)
    timestamp = Timestamp(attribute="created_at")


class ActionQuerySchema(QuerySchema):
    action = CanonicalChoice([*ACTIONS, SMS_SENT])
    source = CanonicalChoice([*ACTION_SOURCES, "sms"])
    batch_id = fields.String(validate=validate.Length(max=100))
    page = page_number()
    limit = page_limit()


class ActionPageSchema(PageSchema):
    data = fields.List(fields.Nested(ActionSchema))


class ActionBatchResultSchema(Schema):
    created = fields.Integer()
    action_ids = fields.List(fields.String())


# Dashboard -------------------------------------------------------------------------------------------

class KpiSchema(Schema):
    title = fields.String()
    value = fields.String()
    change = fields.Float(metadata={"description": "Percent change versus the previous 30 days"})
    is_positive = fields.Boolean(metadata={"description": "Whether the change is good news"})


class DashboardSchema(Schema):
    total_customers = fields.Integer()
    connected_customers = fields.Integer()
    disconnected_customers = fields.Integer()
    warned_customers = fields.Integer()
    total_arrears = Amount()
    recent_actions = fields.List(fields.Nested(ActionSchema))
    kpis = fields.List(fields.Nested(KpiSchema))


# Upload ----------------------------------------------------------------------------------------------

class UploadFileSchema(Schema):
    file = Upload(required=True, metadata={"description": ".xlsx or .csv with name, account_number, phone, arrears"})


class UploadRowSchema(Schema):
    row = fields.Integer()
    name = fields.String()
    account_number = fields.String()
    phone = fields.String()
    arrears = fields.String()
    status = fields.String(metadata={"description": "validated or error"})
    errors = fields.List(fields.String())


class UploadResultSchema(Schema):
    data = fields.List(fields.Nested(UploadRowSchema))
    total = fields.Integer()
    valid_count = fields.Integer()
    error_count = fields.Integer()


class ValidateCustomersSchema(RequestSchema):
    """`{"customers": [rows]}`, or the bare array of rows that the original backend and its front end send."""

    customers = fields.List(fields.Dict(), required=True)

    def load(self, data: Any, **kwargs: Any) -> Any:
        return super().load({"customers": data} if isinstance(data, list) else data, **kwargs)


class RowErrorSchema(Schema):
    row = fields.Integer()
    error = fields.String()
    errors = fields.List(fields.String())
    data = fields.Dict()


class ValidationResultSchema(Schema):
    validated = fields.List(fields.Nested(UploadRowSchema))
    errors = fields.List(fields.Nested(RowErrorSchema))
    total = fields.Integer()
    valid_count = fields.Integer()
    error_count = fields.Integer()


class ProcessBatchSchema(RequestSchema):
    data = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1),
                       metadata={"description": "Rows: name, account_number, phone, arrears, and an optional action"})
    batch_id = fields.String(validate=validate.Length(min=1, max=100),
                             metadata={"description": "Re-posting the same batch_id applies nothing again"})
    action = CanonicalChoice(ACTIONS, metadata={"description": "Action recorded for rows that name none"})


class ProcessBatchResultSchema(Schema):
    message = fields.String()
    actions_created = fields.Integer()
    customers_created = fields.Integer()
    customers_updated = fields.Integer()
    batch_id = fields.String()
    success = fields.Boolean()
    errors = fields.List(fields.Dict())
