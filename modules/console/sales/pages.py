"""The DTech sales pages that show (agents and admins): the processes with their status, agent and lead,
filtered by status and agent, a page at a time or all as CSV; a process with its recordings, their upload
status and the delivery of each to DTech, and the forms of actions.py.

Read through the domain's services, the same as `GET /api/v1/sales/processes` (`list_processes`,
`every_process`, `get_process`, `recording_upload`), with the API's query schema: a bad filter re-renders
the page with the reason (a 422).
"""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request, session

from modules.console.access import page
from modules.console.blueprint import blp
from modules.console.export import csv_response
from modules.console.sales.forms import CONTINUE_FIELDS, RECORDING_FIELDS, FormProblems, load
from modules.core import roles
from modules.core.exceptions import NotFound
from modules.dtech import services
from modules.dtech.models import PROCESS_STATUSES
from modules.dtech.schemas import CONTENT_TYPES, SalesProcessQuerySchema

PAGE_SIZE = 50
FILTERS = ("status", "agent_id", "page")
CSV_HEADER = ("created_at", "sales_process_id", "status", "partner_status", "agent_id", "lead_name", "lead_phone",
              "account_id", "stop_reason", "updated_at")
OPENED = "dtech_opened"  # session key: DTech's URL of the sale just started or continued, shown once


def _listed() -> dict[str, Any]:
    """The table's context: this page of processes, or the filter's problem."""
    given = {name: request.args[name] for name in FILTERS if request.args.get(name, "").strip()}
    try:
        filters = load(SalesProcessQuerySchema(), {**given, "limit": PAGE_SIZE})
    except FormProblems as problem:
        return {"processes": [], "number": 1, "pages": 0, "total": 0, "problem": str(problem)}
    found = services.list_processes(filters)
    return {"processes": found["data"], "number": found["page"], "pages": found["pages"], "total": found["total"],
            "problem": None}


@blp.route("/sales")
@page(roles.AGENT)
def sales():
    """The processes, newest first, with the filter form; `format=csv` downloads every matching one."""
    if request.args.get("format") == "csv":
        return _export()
    listed = _listed()
    return (render_template("console/sales/list.html", **listed, statuses=PROCESS_STATUSES, args=request.args),
            422 if listed["problem"] else 200)


@blp.route("/sales/live/table")
@page(roles.AGENT)
def sales_fragment():
    """The table of the list page without the layout (its live region)."""
    return render_template("console/sales/_table.html", **_listed())


def _export():
    given = {name: request.args[name] for name in ("status", "agent_id") if request.args.get(name, "").strip()}
    try:
        filters = load(SalesProcessQuerySchema(), given)
    except FormProblems as problem:
        abort(422, str(problem))
    rows = ((process.created_at, process.sales_process_id, process.status, process.partner_status,
             process.agent_id, process.lead_name, process.lead_phone, process.account_id, process.stop_reason,
             process.updated_at) for process in services.every_process(filters))
    return csv_response("sales.csv", CSV_HEADER, rows)


@blp.route("/sales/<sales_process_id>")
@page(roles.AGENT)
def sales_detail(sales_process_id: str):
    """A process, its recordings with their upload and delivery, and its actions' forms."""
    return render_detail(sales_process_id)


def render_detail(sales_process_id: str, problems: dict[str, str] | None = None, status: int = 200):
    """The process page; with `problems`, a form of it was refused (its fields keep what was posted)."""
    try:
        process = services.get_process(sales_process_id)
    except NotFound as missing:
        abort(404, missing.message)
    opened = session.get(OPENED)
    if isinstance(opened, dict) and opened.get("sales_process_id") == sales_process_id:
        session.pop(OPENED)
    else:
        opened = None
    uploads = [services.recording_upload(recording.id) for recording in process.recordings]
    return render_template("console/sales/detail.html", process=process, uploads=uploads, opened=opened,
                           continue_fields=CONTINUE_FIELDS, recording_fields=RECORDING_FIELDS,
                           content_types=CONTENT_TYPES, problems=problems or {},
                           posted=request.form if problems else {}), status
