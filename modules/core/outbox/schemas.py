"""The outbox admin API's schemas (`/api/admin/outbox`)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from modules.core.outbox.handlers import Status
from modules.core.schemas import PageQuerySchema, PageSchema


class OutboxQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf([status.value for status in Status]))
    kind = fields.String(validate=validate.Length(max=100))


class OutboxMessageSchema(Schema):
    id = fields.String()
    kind = fields.String()
    subject_id = fields.String(allow_none=True)
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


class OutboxPageSchema(PageSchema):
    messages = fields.List(fields.Nested(OutboxMessageSchema))


class ReplaySchema(Schema):
    ids = fields.List(fields.String(validate=validate.Length(max=36)), load_default=list,
                      validate=validate.Length(max=1000))
    kind = fields.String(validate=validate.Length(max=100))
    all_dead = fields.Boolean(load_default=False)


class ReplayResultSchema(Schema):
    replayed = fields.Integer()
