"""The outbox admin API's schemas (`/api/admin/outbox`): they are also its OpenAPI documentation."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from modules.core.fields import StorableString
from modules.core.outbox.handlers import Status
from modules.core.outbox.replaying import MAX_IDS, REPLAYABLE, Selection
from modules.core.schemas import PageQuerySchema, PageSchema, RequestSchema


class OutboxQuerySchema(PageQuerySchema):
    """The list's filters (every one given must hold) and its paging: `offset` as before, or `after`, the
    `next` cursor of the page before (keyset: no total, and each page costs the same)."""

    status = fields.String(validate=validate.OneOf([status.value for status in Status]))
    kind = fields.String(validate=validate.Length(max=100))
    destination = fields.String(validate=validate.Length(min=1, max=100),
                                metadata={"description": "Every kind delivered there"})
    since = fields.AwareDateTime(metadata={"description": "Created at or after this (ISO 8601 with a time zone)"})
    until = fields.AwareDateTime(metadata={"description": "Created before this (ISO 8601 with a time zone)"})
    subject_id = fields.String(validate=validate.Length(min=1, max=100),
                               metadata={"description": "The record the messages are about (a form, a lead...)"})
    idempotency_key = fields.String(
        validate=validate.Length(min=1, max=300),
        metadata={"description": "A key a peer saw: `<record id>:<revision>` (dashboard), an e-mail's Message-ID, "
                                 "a message id or a record id"})
    after = fields.String(validate=validate.Length(min=1, max=200),
                          metadata={"description": "The `next` cursor of the page before (instead of offset)"})

    @validates_schema
    def one_paging(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if data.get("after") and data.get("offset"):
            raise ValidationError(["give after or offset, not both"], "after")


class OutboxMessageSchema(Schema):
    id = fields.String()
    kind = fields.String()
    subject_id = fields.String(allow_none=True)
    status = fields.String()
    attempts = fields.Integer(metadata={"description": "Attempts used since the message was added or last replayed"})
    next_attempt_at = fields.DateTime()
    last_error = fields.String(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)


class OutboxPageSchema(PageSchema):
    """With `after` (keyset paging) the answer has no `total` and no `offset`."""

    messages = fields.List(fields.Nested(OutboxMessageSchema))
    next = fields.String(allow_none=True, metadata={"description": "The cursor of the next page (pass it as after); "
                                                                   "null on the last"})


class OutboxStatsSchema(Schema):
    totals = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "Messages by status: pending, delivered, dead"})
    by_kind = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Integer()),
                          metadata={"description": "For each kind, its messages by status"})


class _SelectionSchema(RequestSchema):
    """Which messages: every filter given must hold. Unknown keys are refused here (a 422), unlike other
    request bodies: a misspelt filter silently dropped would widen a bulk change."""

    class Meta:
        unknown = RAISE

    ids = fields.List(fields.String(validate=validate.Length(min=1, max=36)), load_default=list,
                      validate=validate.Length(max=MAX_IDS), metadata={"description": f"At most {MAX_IDS} message ids"})
    kind = fields.String(validate=validate.Length(min=1, max=100))
    destination = fields.String(validate=validate.Length(min=1, max=100),
                                metadata={"description": "Every kind delivered there"})
    since = fields.AwareDateTime(metadata={"description": "Created at or after this (ISO 8601 with a time zone)"})
    until = fields.AwareDateTime(metadata={"description": "Created before this (ISO 8601 with a time zone)"})
    subject_id = fields.String(validate=validate.Length(min=1, max=100),
                               metadata={"description": "The record the messages are about (a form, a lead...)"})
    all = fields.Boolean(load_default=False, metadata={"description": "Needed when no other filter is given"})
    dry_run = fields.Boolean(load_default=False, metadata={"description": "Count, by kind, and change nothing"})

    @post_load
    def to_selection(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """{"selection": Selection, "dry_run": bool}."""
        everything, all_dead, dry_run = data.pop("all"), data.pop("all_dead", False), data.pop("dry_run")
        if all_dead and data["status"] != Status.DEAD.value:
            raise ValidationError(["all_dead takes dead messages: say all with this status"], "all_dead")
        everything = everything or all_dead
        selection = Selection(**{**data, "ids": tuple(data["ids"])}, everything=everything)
        return {"selection": selection, "dry_run": dry_run}


class ReplaySchema(_SelectionSchema):
    status = fields.String(load_default=Status.DEAD.value, validate=validate.OneOf(REPLAYABLE),
                           metadata={"description": "dead (default), or delivered to deliver again"})
    all_dead = fields.Boolean(load_default=False, metadata={"description": "The same as all (older clients)"})


class PurgeSchema(_SelectionSchema):
    status = fields.String(load_default=Status.DEAD.value, validate=validate.OneOf([Status.DEAD.value]),
                           metadata={"description": "Only dead messages are purged"})


class _SelectionResultSchema(Schema):
    dry_run = fields.Boolean()
    matched = fields.Integer(metadata={"description": "Messages the filter takes"})
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())


class ReplayResultSchema(_SelectionResultSchema):
    replayed = fields.Integer(metadata={"description": "Messages queued again: matched, or 0 in a dry run"})


class PurgeResultSchema(_SelectionResultSchema):
    purged = fields.Integer(metadata={"description": "Messages deleted with their attempts (0 in a dry run)"})


class AttemptSchema(Schema):
    number = fields.Integer()
    started_at = fields.DateTime()
    finished_at = fields.DateTime()
    outcome = fields.String(metadata={"description": "delivered, retry or dead"})
    status_code = fields.Integer(allow_none=True, metadata={"description": "The peer's HTTP status, if it answered"})
    error = fields.String(allow_none=True, metadata={"description": "What the peer said, or what failed (short)"})


class TracedMessageSchema(OutboxMessageSchema):
    destination = fields.String()
    updated_at = fields.DateTime()
    attempt_log = fields.List(fields.Nested(AttemptSchema), metadata={"description": "Every attempt, first first"})


class SubjectTraceSchema(PageSchema):
    subject_id = fields.String()
    messages = fields.List(fields.Nested(TracedMessageSchema), metadata={"description": "Oldest first"})


class DestinationSchema(Schema):
    name = fields.String()
    state = fields.String(metadata={"description": "active, paused, open, or half_open (a probe is under way)"})
    since = fields.DateTime(allow_none=True, metadata={"description": "When it was paused or the breaker opened"})
    reason = fields.String(allow_none=True)
    paused_by = fields.String(allow_none=True, metadata={"description": "operator:<id> or cli"})
    failures = fields.Integer(metadata={"description": "Consecutive retryable failures"})
    last_error = fields.String(allow_none=True)
    last_failure_at = fields.DateTime(allow_none=True)
    retry_at = fields.DateTime(allow_none=True, metadata={"description": "When an open breaker lets a probe through"})
    kinds = fields.List(fields.String())
    pending = fields.Integer()
    dead = fields.Integer()


class DestinationListSchema(Schema):
    destinations = fields.List(fields.Nested(DestinationSchema))


class PauseSchema(RequestSchema):
    reason = StorableString(validate=validate.Length(max=500), metadata={"description": "Why, for the other operators"})


class KindSchema(Schema):
    kind = fields.String()
    destination = fields.String()
    backoff = fields.List(fields.Integer(), metadata={"description": "Seconds before each retry"})
    attempts = fields.Integer(metadata={"description": "Attempts before a message is dead"})
    backoff_setting = fields.String(metadata={"description": "The setting that overrides the backoff"})
    backoff_from = fields.String(metadata={"description": "setting or code"})
    breaker_threshold = fields.Integer()
    breaker_cooldown_seconds = fields.Integer()
    state = fields.String(metadata={"description": "Its destination's state"})


class KindListSchema(Schema):
    kinds = fields.List(fields.Nested(KindSchema))
