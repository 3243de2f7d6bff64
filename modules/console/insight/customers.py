"""The customers list: status filter and search (the API's, `services.customers.matching`), the dashboard's
KPIs, numbered pages, and a CSV of every matching customer."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import abort, render_template, request
from marshmallow import ValidationError

from modules.console.access import page
from modules.console.blueprint import blp
from modules.console.export import csv_response
from modules.core import roles
from modules.core.exceptions import Invalid
from modules.insight.models import CUSTOMER_STATUSES
from modules.insight.schemas import CustomerQuerySchema
from modules.insight.services import customers as customer_service

PAGE_SIZE = 50
FILTERS = ("search", "status")
CSV_HEADER = ("created_at", "id", "name", "account_number", "phone", "status", "arrears", "updated_at")


def list_filters(args: Mapping[str, str]) -> dict[str, Any]:
    """The list's filters from the page's query (`search`, `status`, `page`), read by the API's own query
    schema; raises `Invalid` naming each wrong value."""
    given = {name: args[name] for name in (*FILTERS, "page") if name in args}
    try:
        return CustomerQuerySchema().load({**given, "limit": PAGE_SIZE})
    except ValidationError as exc:
        raise Invalid("; ".join(f"{name}: {' '.join(map(str, problems))}"
                                for name, problems in exc.messages.items())) from None


def filter_args(args: Mapping[str, str]) -> dict[str, str]:
    """The filters given on the page, as query arguments (for links and forms that keep them)."""
    return {name: args[name] for name in FILTERS if args.get(name)}


def _listed() -> dict[str, Any]:
    try:
        listed = customer_service.list_customers(list_filters(request.args))
    except Invalid as problem:
        return {"listed": None, "problem": problem.message}
    return {"listed": listed, "problem": None}


@blp.route("/customers")
@page(roles.OPERATOR)
def customers():
    """The list, its filter form and the KPIs; `format=csv` downloads every matching customer."""
    if request.args.get("format") == "csv":
        return _export()
    listed = _listed()
    return render_template("console/insight/customers.html", **listed, board=customer_service.dashboard(),
                           statuses=CUSTOMER_STATUSES, args=request.args,
                           filters=filter_args(request.args)), 422 if listed["problem"] else 200


@blp.route("/customers/live")
@page(roles.OPERATOR)
def customers_fragment():
    """The table of the list (a live region's HTML, without the layout)."""
    return render_template("console/insight/_customers_table.html", **_listed())


def _export():
    try:
        filters = list_filters(request.args)
    except Invalid as problem:
        abort(422, problem.message)
    rows = ((row.created_at, row.id, row.name, row.account_number, row.phone, row.status, row.arrears,
             row.updated_at) for row in customer_service.every_customer(filters))
    return csv_response("customers.csv", CSV_HEADER, rows)
