"""The FASTCore leads pages (operators and admins): the leads newest first, filtered by status and service and
searched by name, e-mail or company (a bounded search: modules/fastcore/listing.py), a keyset page at a time,
live (topic `records`), a CSV of the list; the fallback queue (its size, by retry count) with a flush; a
lead's page with its audit trail, its e-mails and their delivery, and a status change.

Everything goes through FASTCore's services, the same as its admin API: `services.change_status` (audited
with the operator as the actor), `fallback.stats` and `fallback.flush` (`/admin/queue/stats`, `/flush`,
`flask fastcore queue`), `services.lead_detail` (the audit trail); the e-mails are read through the outbox's
public functions.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for

from modules.console.access import page
from modules.console.blueprint import blp
from modules.console.export import csv_response
from modules.core import roles
from modules.core.access import actor
from modules.core.exceptions import Invalid
from modules.fastcore import fallback, listing, services
from modules.fastcore.listing import LeadFilter
from modules.fastcore.models import LEAD_STATUSES, SERVICES

PAGE_SIZE = 50
CSV_HEADER = ("created_at", "id", "name", "email", "phone", "company", "service", "status", "consent",
              "received_via", "source")


def _filter() -> LeadFilter:
    """The page's filter from its query arguments; raises `Invalid`, saying which value is wrong."""
    return LeadFilter.given(request.args.get("status"), request.args.get("service"), request.args.get("q"))


def _listed() -> dict[str, Any]:
    """The table's context: this page of leads and the next page's cursor, or the filter's problem."""
    try:
        leads, older = listing.newest_leads(_filter(), PAGE_SIZE, request.args.get("after") or None)
    except Invalid as problem:
        return {"leads": [], "older": None, "problem": problem.message}
    return {"leads": leads, "older": older, "problem": None}


@blp.route("/leads")
@page(roles.OPERATOR)
def leads():
    """The list, its filter form and the fallback queue; `format=csv` downloads every matching lead."""
    if request.args.get("format") == "csv":
        return _export()
    listed = _listed()
    return render_template("console/fastcore/leads.html", **listed, queue=fallback.stats(), statuses=LEAD_STATUSES,
                           services=SERVICES, search_scan=listing.SEARCH_SCAN, args=request.args), \
        422 if listed["problem"] else 200


@blp.route("/leads/live")
@page(roles.OPERATOR)
def leads_live():
    """The leads table of the same filter and page, without the layout (the live region's fragment)."""
    return render_template("console/fastcore/_leads_table.html", **_listed())


def _export():
    try:
        matching = _filter()
    except Invalid as problem:
        abort(422, problem.message)
    rows = ((lead.created_at, lead.id, lead.name, lead.email, lead.phone, lead.company, lead.service, lead.status,
             lead.consent, lead.received_via, (lead.meta or {}).get("source")) for lead in listing.every_lead(matching))
    return csv_response("fastcore-leads.csv", CSV_HEADER, rows)


@blp.route("/leads/<lead_id>")
@page(roles.OPERATOR)
def leads_detail(lead_id: str):
    """One lead: its fields, its audit trail, its e-mails with every delivery attempt, a status change."""
    try:
        lead = services.lead_detail(lead_id)
    except services.LeadNotFound as missing:
        abort(404, missing.message)
    return render_template("console/fastcore/lead.html", lead=lead, emails=listing.emails_of(lead["id"]),
                           statuses=LEAD_STATUSES, is_admin=roles.allows(g.operator.role, roles.ADMIN))


@blp.route("/leads/<lead_id>/status", methods=["POST"])
@page(roles.OPERATOR)
def leads_status(lead_id: str):
    """Move the lead to another status (the admin API's PATCH .../status), audited."""
    try:
        lead = services.change_status(lead_id, request.form.get("status") or "", actor())
    except services.LeadNotFound as missing:
        abort(404, missing.message)
    except services.InvalidStatus as problem:
        flash(f"Status not changed: {problem.message}", "error")
    else:
        flash(f"The lead is now {lead.status}.", "ok")
    return redirect(url_for("console.leads_detail", lead_id=lead_id), 303)


@blp.route("/leads/queue/flush", methods=["POST"])
@page(roles.OPERATOR)
def leads_flush():
    """Write the due queued leads to the database now (`POST /admin/queue/flush`)."""
    report = fallback.flush()
    if report.already_running:
        flash("Another flush is running: try again in a moment.", "error")
    else:
        flash(f"Flushed {report.flushed} lead(s); duplicates dropped {report.duplicates}; failed {report.failed} "
              f"(now dead {report.dead}); {report.remaining} still queued.", "ok")
    return redirect(url_for("console.leads"), 303)
