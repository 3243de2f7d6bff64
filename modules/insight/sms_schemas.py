"""Request and answer schemas of the Insight SMS API: sends, templates, delivery status and receipts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema, fields, pre_load, validate

from modules.insight.fields import Phone, Timestamp
from modules.insight.models import BULK_SMS_RECIPIENTS, TEMPLATE_ACTIONS
from modules.insight.schemas import ID, RequestSchema
from modules.insight.templates import check_placeholders

NOT_BLANK = validate.Regexp(r"\s*\S", error="Must not be blank.")
SMS_TEXT = [validate.Length(min=1, max=1000), NOT_BLANK]
# Other names gateways give a receipt's fields. Never `message`: gateways put the SMS text there.
RECEIPT_ALIASES = {"sms_id": ("id", "message_id"), "reason": ("error",)}
REASON_CHARS = 300


class SmsTextSchema(RequestSchema):
    """The text of an SMS an operator writes (1 to 1,000 characters, not blank)."""

    message = fields.String(required=True, validate=SMS_TEXT)


class BulkSmsSchema(SmsTextSchema):
    recipients = fields.List(Phone(), required=True, validate=validate.Length(min=1, max=BULK_SMS_RECIPIENTS))


class SendSmsSchema(RequestSchema):
    customer_id = fields.String(required=True, validate=ID)
    message = fields.String(required=True, validate=SMS_TEXT)
    include_arrears = fields.Boolean(load_default=True,
                                     metadata={"description": "Append the line with the customer's arrears"})


class SmsQueuedSchema(Schema):
    status = fields.String(metadata={"example": "success"})
    message = fields.String(metadata={"example": "SMS queued for Ama Mensah."})
    message_id = fields.String()


class ProviderStatusSchema(Schema):
    recipient = fields.String()
    id = fields.String()
    status = fields.String(allow_none=True)


class ReceiptCountsSchema(Schema):
    delivered = fields.Integer(metadata={"description": "Recipients whose handset has the message"})
    failed = fields.Integer(metadata={"description": "Recipients the message will never reach (a final "
                                                    "receipt, or a number Arkesel did not accept)"})
    waiting = fields.Integer(metadata={"description": "Recipients without a final receipt yet"})
    untracked = fields.Integer(metadata={"description": "Recipients Arkesel gave no message id for: no "
                                                       "receipt can tell whether the message reached them"})


class SmsStatusSchema(Schema):
    message_id = fields.String()
    status = fields.String(metadata={"description": "queued; sent (accepted by Arkesel, a recipient still "
                                                    "waiting); then delivered, partially_delivered, failed "
                                                    "(also when Arkesel never accepted it) or untracked"})
    recipients = fields.Integer()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = Timestamp()
    sent_at = Timestamp(allow_none=True)
    segments = fields.Integer(allow_none=True, metadata={"description": "SMS parts per recipient (GSM-7: 160, "
                                                                        "then 153 each; UCS-2: 70, then 67 each)"})
    receipts = fields.Nested(ReceiptCountsSchema, metadata={"description": "Recipients by delivery receipt"})
    provider = fields.List(fields.Nested(ProviderStatusSchema),
                           metadata={"description": "Arkesel's status of each recipient (the first 20)"})
    provider_error = fields.String(allow_none=True)


class TemplateSchema(Schema):
    action = fields.String(metadata={"description": ", ".join(TEMPLATE_ACTIONS)})
    message = fields.String()
    updated_at = Timestamp(allow_none=True)


class TemplateUpdateSchema(RequestSchema):
    message = fields.String(required=True, validate=[*SMS_TEXT, check_placeholders],
                            metadata={"example": "Dear {name}, please pay {amount} by Friday."})


class GatewayReason(fields.String):
    """The gateway's reason for a status, a text or a whole number (an error code), kept as text: its first
    REASON_CHARS characters, or None when blank. It is the gateway's diagnostic text, not client data, so a
    longer one is cut rather than refused: a refusal would lose the receipt it comes with."""

    def _deserialize(self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs).strip()[:REASON_CHARS] or None


class ReceiptSchema(RequestSchema):
    """Arkesel's delivery receipt of one recipient: the Arkesel message id in `sms_id` (or `id`, `message_id`),
    its `status`, and the gateway's reason if any (`reason` or `error`; `message` is never read: gateways put
    the SMS text there)."""

    sms_id = fields.String(required=True, validate=[validate.Length(min=1, max=100), NOT_BLANK],
                           metadata={"description": "The Arkesel message id, as Arkesel answered the send"})
    status = fields.String(required=True, validate=[validate.Length(min=1, max=40), NOT_BLANK],
                           metadata={"example": "DELIVERED", "description": "DELIVERED; FAILED, UNDELIVERED, "
                                     "REJECTED, EXPIRED ... (final); SENT, SUBMITTED, PENDING ... (on its way)"})
    reason = GatewayReason(load_default=None, metadata={"description": f"The gateway's reason (or error "
                                                                     f"code), its first {REASON_CHARS} "
                                                                     "characters kept"})

    @pre_load
    def accept_other_names(self, data: Any, **_kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        named = dict(data)
        for name, aliases in RECEIPT_ALIASES.items():
            given = [named[alias] for alias in aliases if named.get(alias) not in (None, "")]
            if named.get(name) in (None, "") and given:
                named[name] = given[0]
        return named


class ReceiptAnswerSchema(Schema):
    status = fields.String(metadata={"example": "success"})
