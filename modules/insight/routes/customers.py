"""Views of customers, the dashboard and actions."""

from __future__ import annotations

from modules.core.schemas import DetailSchema
from modules.insight.access import current_actor, operator_endpoint
from modules.insight.routes.blueprint import blp
from modules.insight.schemas import (
    ActionBatchResultSchema,
    ActionCreateSchema,
    ActionPageSchema,
    ActionQuerySchema,
    ActionSchema,
    CustomerCreateSchema,
    CustomerPageSchema,
    CustomerQuerySchema,
    CustomerSchema,
    CustomerUpdateSchema,
    DashboardSchema,
    MessageSchema,
)
from modules.insight.services import actions, customers
from modules.insight.services.common import get_customer


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
