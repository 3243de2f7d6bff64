"""Views of SMS: sends, templates, delivery status, and the delivery receipts Arkesel calls back with."""

from __future__ import annotations

from flask import request
from marshmallow import ValidationError

from modules.core.access import actor
from modules.core.schemas import DetailSchema
from modules.insight.access import current_actor, ingest_endpoint, operator_endpoint, receipt_endpoint
from modules.insight.models import TEMPLATE_ACTIONS
from modules.insight.routes.blueprint import blp
from modules.insight.services import sms, sms_receipts
from modules.insight.services.common import InvalidFields
from modules.insight.sms_schemas import (
    BulkSmsSchema,
    ReceiptAnswerSchema,
    ReceiptSchema,
    SendSmsSchema,
    SmsQueuedSchema,
    SmsStatusSchema,
    TemplateSchema,
    TemplateUpdateSchema,
)

NOT_CONFIGURED = "SMS service is not configured (no ARKESEL_API_KEY or ARKESEL_SENDER_ID)"
OVER_LIMIT = ("Over INGEST_RATE_LIMIT or SMS_RECIPIENTS_PER_HOUR for this operator, or a daily SMS segment cap "
              "(SMS_DAILY_SEGMENT_CAP, ..._PER_OPERATOR); see Retry-After")
# A path parameter naming a template: any letter case is accepted (`Warning`); another name is a 404.
TEMPLATE_PARAMETER = {"in": "path", "name": "template", "required": True,
                      "schema": {"type": "string", "enum": list(TEMPLATE_ACTIONS)},
                      "description": "A template, in any letter case"}


@blp.route("/api/sms/send-bulk", methods=["POST"])
@ingest_endpoint
@blp.arguments(BulkSmsSchema)
@blp.response(200, SmsQueuedSchema)
@blp.alt_response(402, schema=DetailSchema, description="Arkesel's balance cannot pay for this send")
@blp.alt_response(429, schema=DetailSchema, description=OVER_LIMIT)
@blp.alt_response(503, schema=DetailSchema, description=NOT_CONFIGURED)
def send_bulk(body):
    """Queue one message to up to 1,000 phone numbers; refused (402) when Arkesel's balance cannot pay for it."""
    return sms.send_bulk(body["recipients"], body["message"], current_actor())


@blp.route("/api/sms/send", methods=["POST"])
@ingest_endpoint
@blp.arguments(SendSmsSchema)
@blp.response(200, SmsQueuedSchema)
@blp.alt_response(404, schema=DetailSchema)
@blp.alt_response(429, schema=DetailSchema, description=OVER_LIMIT)
@blp.alt_response(503, schema=DetailSchema, description=NOT_CONFIGURED)
def send_to_customer(body):
    """Queue a message to a customer, with a line giving their arrears unless include_arrears is false."""
    return sms.send_to_customer(body["customer_id"], body["message"], body["include_arrears"], current_actor())


@blp.route("/api/sms/send/<template>/<customer_id>", methods=["POST"], parameters=[TEMPLATE_PARAMETER])
@ingest_endpoint
@blp.response(200, SmsQueuedSchema)
@blp.alt_response(404, schema=DetailSchema)
@blp.alt_response(429, schema=DetailSchema, description=OVER_LIMIT)
@blp.alt_response(503, schema=DetailSchema, description=NOT_CONFIGURED)
def send_template(template, customer_id):
    """Queue the warning, disconnection or connection template to a customer."""
    return sms.send_template(template, customer_id, current_actor())


@blp.route("/api/sms/templates", methods=["GET"])
@operator_endpoint
@blp.response(200, TemplateSchema(many=True))
def list_templates():
    """The three template messages; {name} and {amount} (GHS <arrears>) are filled in when sent."""
    return sms.list_templates()


@blp.route("/api/sms/templates/<action>", methods=["PUT"], parameters=[{**TEMPLATE_PARAMETER, "name": "action"}])
@operator_endpoint
@blp.arguments(TemplateUpdateSchema)
@blp.response(200, TemplateSchema)
@blp.alt_response(404, schema=DetailSchema)
def update_template(body, action):
    """Change the wording of a template (warning, disconnection or connection)."""
    return sms.update_template(action, body["message"], current_actor())


@blp.route("/api/sms/status/<message_id>", methods=["GET"])
@operator_endpoint
@blp.response(200, SmsStatusSchema)
@blp.alt_response(404, schema=DetailSchema)
def sms_status(message_id):
    """Our delivery state with the recipients' delivery receipts, and Arkesel's status of each recipient once
    Arkesel has the message."""
    return sms.delivery_status(message_id)


RECEIPT_PATH = f"{sms_receipts.RECEIPTS_PATH}/<sms_id>"
RECEIPT_TOKEN = {"in": "query", "name": "token", "required": True, "schema": {"type": "string"},
                 "description": "The hub's signature of the SMS id, as in the callback URL the hub gave Arkesel"}
RECEIPT_NOT_FOUND = ("No such SMS, or an Arkesel id that is not one of its messages when it already keeps "
                     "receipts of as many other ids as it has recipients")
RECEIPT_INVALID = "No Arkesel id or no status, or one too long (FastAPI's list of field errors)"


@blp.route(RECEIPT_PATH, methods=["POST"], parameters=[RECEIPT_TOKEN])
@receipt_endpoint
@blp.doc(requestBody={"content": {kind: {"schema": ReceiptSchema}
                                  for kind in ("application/json", "application/x-www-form-urlencoded")}})
@blp.response(200, ReceiptAnswerSchema)
@blp.alt_response(404, schema=DetailSchema, description=RECEIPT_NOT_FOUND)
@blp.alt_response(422, schema=DetailSchema, description=RECEIPT_INVALID)
def post_sms_receipt(sms_id):
    """Arkesel's delivery receipt of one recipient of an SMS, as JSON or a form (or in the query string):
    the body is read by hand, whichever it is, hence the 422 documented here."""
    body = request.get_json(silent=True) if request.is_json else request.form.to_dict()
    try:
        receipt = ReceiptSchema().load({**request.args.to_dict(), **(body if isinstance(body, dict) else {})})
    except ValidationError as exc:
        raise InvalidFields("Invalid receipt", details=exc.messages) from exc
    return _record(receipt, sms_id)


@blp.route(RECEIPT_PATH, methods=["GET"], parameters=[RECEIPT_TOKEN])
@receipt_endpoint
@blp.arguments(ReceiptSchema, location="query")
@blp.response(200, ReceiptAnswerSchema)
@blp.alt_response(404, schema=DetailSchema, description=RECEIPT_NOT_FOUND)
def get_sms_receipt(receipt, sms_id):
    """Arkesel's delivery receipt of one recipient of an SMS, in the query string."""
    return _record(receipt, sms_id)


def _record(receipt: dict, sms_id: str) -> dict:
    sms_receipts.record_receipt(sms_id, receipt["sms_id"], receipt["status"], receipt["reason"], actor())
    return {"status": "success"}
