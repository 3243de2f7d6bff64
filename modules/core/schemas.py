"""Schemas of the core endpoints (they are also the OpenAPI documentation)."""

from marshmallow import Schema, fields, validate


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok, or unavailable when the database is down"})
    version = fields.String()
    timestamp = fields.String()
    database = fields.String()
    redis = fields.String()
    workers = fields.Integer(metadata={"description": "RQ workers with a live heartbeat"})
    scheduler_running = fields.Boolean()
    outbox = fields.Dict(keys=fields.String(), values=fields.Integer())


class LoginSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=1, max=1024))


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class DetailSchema(Schema):
    detail = fields.Raw()


class OutboxQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(["pending", "delivered", "dead", "cancelled"]))
    kind = fields.String(validate=validate.Length(max=100))
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))


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


class OutboxPageSchema(Schema):
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()
    messages = fields.List(fields.Nested(OutboxMessageSchema))


class ReplaySchema(Schema):
    ids = fields.List(fields.String(validate=validate.Length(max=36)), load_default=list,
                      validate=validate.Length(max=1000))
    kind = fields.String(validate=validate.Length(max=100))
    all_dead = fields.Boolean(load_default=False)


class ReplayResultSchema(Schema):
    replayed = fields.Integer()
