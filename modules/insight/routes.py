"""The Insight API: customers, actions, SMS and batch upload; thin views over services/.

The blueprint's one translation of the services' refusals into the contract's answers comes first."""

from __future__ import annotations

from flask_smorest import Blueprint

from modules.core.errors import ApiError, answer_domain_errors, fastapi_items, status_of
from modules.core.exceptions import DomainError
from modules.core.schemas import DetailSchema
from modules.insight.access import current_actor, ingest_endpoint, operator_endpoint
from modules.insight.models import TEMPLATE_ACTIONS
from modules.insight.schemas import (
    ActionBatchResultSchema,
    ActionCreateSchema,
    ActionPageSchema,
    ActionQuerySchema,
    ActionSchema,
    BulkSmsSchema,
    CustomerCreateSchema,
    CustomerPageSchema,
    CustomerQuerySchema,
    CustomerSchema,
    CustomerUpdateSchema,
    DashboardSchema,
    MessageSchema,
    ProcessBatchResultSchema,
    ProcessBatchSchema,
    SendSmsSchema,
    SmsQueuedSchema,
    SmsStatusSchema,
    TemplateSchema,
    TemplateUpdateSchema,
    UploadFileSchema,
    UploadResultSchema,
    ValidateCustomersSchema,
    ValidationResultSchema,
)
from modules.insight.services import actions, batches, customers, sms
from modules.insight.services.common import InvalidFields, get_customer

blp = Blueprint("insight", __name__, description="Insight customers")

PATH_PREFIXES = ("/api/customers", "/api/actions", "/api/sms", "/api/upload")


def answer(error: DomainError) -> ApiError:
    """The contract's body of a refusal, with the core's status of its kind (404 NotFound, 409 Conflict, 422
    Invalid, 503 Unavailable, 400 UnusableInput): `{"detail": {"error_code", "message", "details"}}` when
    the contract names a code, FastAPI's list of field errors for InvalidFields, else `{"detail": message}`."""
    if error.code:
        detail = {"error_code": error.code, "message": error.message, "details": error.details or {}}
    elif isinstance(error, InvalidFields):
        detail = fastapi_items({"json": error.details})
    else:
        detail = error.message
    return ApiError(status_of(error), body={"detail": detail})


answer_domain_errors(blp, answer)


@blp.route("/api/customers/", methods=["GET"])
@operator_endpoint
@blp.arguments(CustomerQuerySchema, location="query")
@blp.response(200, CustomerPageSchema)
def list_customers(filters):
    """Customers, newest first: search by name, account number or phone; filter by status and arrears."""
    return customers.list_customers(filters)


@blp.route("/api/customers/", methods=["POST"])
@operator_endpoint
@blp.arguments(CustomerCreateSchema)
@blp.response(201, CustomerSchema)
@blp.alt_response(409, schema=DetailSchema, description="CUSTOMER_ALREADY_EXISTS: the account number is taken")
def create_customer(data):
    """Create a customer; name, phone and arrears are normalised."""
    return customers.create_customer(data, current_actor())


@blp.route("/api/customers/dashboard/data", methods=["GET"])
@operator_endpoint
@blp.response(200, DashboardSchema)
def dashboard():
    """Counts by status, total arrears, the latest actions and KPIs versus the previous 30 days."""
    return customers.dashboard()


@blp.route("/api/customers/<customer_id>", methods=["GET"])
@operator_endpoint
@blp.response(200, CustomerSchema)
@blp.alt_response(404, schema=DetailSchema)
def get_customer_view(customer_id):
    """One customer."""
    return get_customer(customer_id)


@blp.route("/api/customers/<customer_id>", methods=["PUT"])
@operator_endpoint
@blp.arguments(CustomerUpdateSchema)
@blp.response(200, CustomerSchema)
@blp.alt_response(404, schema=DetailSchema)
@blp.alt_response(409, schema=DetailSchema, description="CUSTOMER_ALREADY_EXISTS: the account number is taken")
def update_customer(changes, customer_id):
    """Change some fields of a customer (those not given stay as they are)."""
    return customers.update_customer(customer_id, changes, current_actor())


@blp.route("/api/customers/<customer_id>", methods=["DELETE"])
@operator_endpoint
@blp.response(200, MessageSchema)
@blp.alt_response(404, schema=DetailSchema)
def delete_customer(customer_id):
    """Delete a customer and their actions."""
    customers.delete_customer(customer_id, current_actor())
    return {"message": "Customer deleted successfully"}


@blp.route("/api/actions/", methods=["GET"])
@operator_endpoint
@blp.arguments(ActionQuerySchema, location="query")
@blp.response(200, ActionPageSchema)
def list_actions(filters):
    """Actions, newest first; filter by action, source or batch id."""
    return actions.list_actions(filters)


@blp.route("/api/actions/", methods=["POST"])
@operator_endpoint
@blp.arguments(ActionCreateSchema)
@blp.response(201, ActionSchema)
@blp.alt_response(404, schema=DetailSchema)
def create_action(data):
    """Record an action; the customer's status changes with it (connect -> connected, ...)."""
    return actions.record_action(data, current_actor())


@blp.route("/api/actions/customer/<customer_id>", methods=["GET"])
@operator_endpoint
@blp.arguments(ActionQuerySchema, location="query")
@blp.response(200, ActionPageSchema)
@blp.alt_response(404, schema=DetailSchema)
def customer_actions(filters, customer_id):
    """One customer's actions, newest first."""
    return actions.list_actions(filters, customer_id)


@blp.route("/api/actions/batch", methods=["POST"])
@operator_endpoint
@blp.arguments(ActionCreateSchema(many=True))
@blp.response(201, ActionBatchResultSchema)
@blp.alt_response(404, schema=DetailSchema, description="CUSTOMER_NOT_FOUND: nothing was recorded")
def create_actions(items):
    """Record a JSON array of 1 to 1,000 actions: all of them, or none when one is invalid."""
    ids = actions.record_actions(items, current_actor())
    return {"created": len(ids), "action_ids": ids}


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


@blp.route("/api/upload/excel", methods=["POST"])
@ingest_endpoint
@blp.arguments(UploadFileSchema, location="files")
@blp.response(200, UploadResultSchema)
@blp.alt_response(400, schema=DetailSchema, description="Not a readable spreadsheet, missing columns, too many "
                  "rows, too large once unpacked")
def upload_excel(files):
    """Validate every row of an .xlsx or .csv file (nothing is stored); the content decides which it is."""
    return batches.import_file(files["file"].stream).summary()


@blp.route("/api/upload/validate-customers", methods=["POST"])
@operator_endpoint
@blp.arguments(ValidateCustomersSchema)
@blp.response(200, ValidationResultSchema)
@blp.alt_response(400, schema=DetailSchema, description="Too many rows")
def validate_customers(body):
    """Validate rows the front end read itself (nothing is stored)."""
    return batches.validate_customers(body["customers"])


@blp.route("/api/upload/process-batch", methods=["POST"])
@ingest_endpoint
@blp.arguments(ProcessBatchSchema)
@blp.response(200, ProcessBatchResultSchema)
@blp.alt_response(400, schema=DetailSchema, description="Too many rows")
def process_batch(body):
    """Create or update customers by account number and record the rows' actions, once per batch_id.

    Any invalid row refuses the whole batch with a 422 naming each row and field."""
    return batches.apply_batch(body["data"], batches.Batch(current_actor(), body.get("batch_id"), body.get("action")))
