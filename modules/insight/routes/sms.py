"""SMS: bulk, to a customer, from a template; templates; delivery status."""

from __future__ import annotations

from modules.core.schemas import DetailSchema
from modules.insight.access import current_actor, ingest_endpoint, operator_endpoint
from modules.insight.models import TEMPLATE_ACTIONS
from modules.insight.routes.blueprint import blp
from modules.insight.schemas import (
    BulkSmsSchema,
    SendSmsSchema,
    SmsQueuedSchema,
    SmsStatusSchema,
    TemplateSchema,
    TemplateUpdateSchema,
)
from modules.insight.services import sms

NOT_CONFIGURED = "SMS service is not configured (no ARKESEL_API_KEY or ARKESEL_SENDER_ID)"
# A path parameter naming a template: any letter case is accepted (`Warning`); another name is a 404.
TEMPLATE_PARAMETER = {"in": "path", "name": "template", "required": True,
                      "schema": {"type": "string", "enum": list(TEMPLATE_ACTIONS)},
                      "description": "A template, in any letter case"}


@blp.route("/api/sms/send-bulk", methods=["POST"])
@ingest_endpoint
@blp.arguments(BulkSmsSchema)
@blp.response(200, SmsQueuedSchema)
@blp.alt_response(503, schema=DetailSchema, description=NOT_CONFIGURED)
def send_bulk(body):
    """Queue one message to up to 1,000 phone numbers."""
    return sms.send_bulk(body["recipients"], body["message"], current_actor())


@blp.route("/api/sms/send", methods=["POST"])
@ingest_endpoint
@blp.arguments(SendSmsSchema)
@blp.response(200, SmsQueuedSchema)
@blp.alt_response(404, schema=DetailSchema)
@blp.alt_response(503, schema=DetailSchema, description=NOT_CONFIGURED)
def send_to_customer(body):
    """Queue a message to a customer, with a line giving their arrears unless include_arrears is false."""
    return sms.send_to_customer(body["customer_id"], body["message"], body["include_arrears"], current_actor())


@blp.route("/api/sms/send/<template>/<customer_id>", methods=["POST"], parameters=[TEMPLATE_PARAMETER])
@ingest_endpoint
@blp.response(200, SmsQueuedSchema)
@blp.alt_response(404, schema=DetailSchema)
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
    """Our delivery state, and Arkesel's status of each recipient once Arkesel has the message."""
    return sms.delivery_status(message_id)
