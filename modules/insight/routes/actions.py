"""Actions: list, record one, one customer's history, record a batch."""

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
)
from modules.insight.services import actions


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
