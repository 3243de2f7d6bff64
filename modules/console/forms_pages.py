"""The SentraTech forms pages (operators and admins): the four form types as tabs, each record with its fields
and its dashboard sync state (pending, synced, failed with the dashboard's answer), newest first a keyset page
at a time, live (topic `records`), a CSV of the list; a record's page with its deliveries; re-sync one, and
re-sync the failed records of a form.

Everything goes through SentraTech's services (`modules/sentratech/services.py`): the re-syncs are the one
`services.resync` of `POST /api/admin/sentratech/resync`, audited with the operator as the actor; the
dashboard's answers are read through the outbox's public functions.
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
from modules.sentratech import services
from modules.sentratech.clients import dashboard_configured
from modules.sentratech.forms import FORMS, Form
from modules.sentratech.models import FAILED, PENDING, SYNCED

PAGE_SIZE = 50
TABS = {"demo": "demo_requests", "contact": "contact_requests", "roi": "roi_reports", "subscription": "subscriptions"}
STATES = {"pending": PENDING, "synced": SYNCED, "failed": FAILED}  # the page's names of the sync states
STATE_NAMES = {stored: name for name, stored in STATES.items()}


def _form(tab: str) -> Form:
    if tab not in TABS:
        abort(404, f"No form tab named {tab!r}; the tabs are {', '.join(TABS)}.")
    return FORMS[TABS[tab]]


def _tab() -> str:
    return request.args.get("form") or "demo"


def _state() -> str | None:
    """The sync state filter (pending, synced, failed, or blank for any); raises `Invalid`."""
    name = (request.args.get("state") or "").strip()
    if name and name not in STATES:
        raise Invalid(f"state must be one of {', '.join(STATES)}")
    return STATES.get(name)


def _listed(form: Form) -> dict[str, Any]:
    """The table's context: this page of records, the next page's cursor, each unsynced record's latest
    delivery (the dashboard's last answer), or the filter's problem."""
    try:
        records, older = services.newest_records(form, _state(), PAGE_SIZE, request.args.get("after") or None)
    except Invalid as problem:
        return {"records": [], "older": None, "answers": {}, "problem": problem.message}
    answers = services.last_sync_messages([record.id for record in records if record.sync_status != SYNCED])
    return {"records": records, "older": older, "answers": answers, "problem": None}


def _common(tab: str, form: Form) -> dict[str, Any]:
    return {"tab": tab, "form": form, "tabs": {name: FORMS[form_name] for name, form_name in TABS.items()},
            "state_names": STATE_NAMES}


@blp.route("/forms")
@page(roles.OPERATOR)
def forms():
    """A form's records (`form=demo|contact|roi|subscription`, `state=` a sync state); `format=csv` downloads
    every matching record."""
    tab = _tab()
    form = _form(tab)
    if request.args.get("format") == "csv":
        return _export(tab, form)
    listed = _listed(form)
    return render_template("console/sentratech/forms.html", **_common(tab, form), **listed,
                           counts=services.sync_counts(form), dashboard=dashboard_configured(),
                           states=STATES, args=request.args), 422 if listed["problem"] else 200


@blp.route("/forms/live")
@page(roles.OPERATOR)
def forms_live():
    """The records table of the same tab, filter and page, without the layout (the live region's fragment)."""
    tab = _tab()
    form = _form(tab)
    return render_template("console/sentratech/_forms_table.html", **_common(tab, form), **_listed(form))


def _export(tab: str, form: Form):
    try:
        state = _state()
    except Invalid as problem:
        abort(422, problem.message)
    header = ("created_at", "id", *form.fields, "sync_state", "sync_error", "synced_at", "revision")
    rows = ((record.created_at, record.id, *(getattr(record, name) for name in form.fields),
             STATE_NAMES[record.sync_status], record.sync_error, record.synced_at, record.revision)
            for record in services.every_record(form, state))
    return csv_response(f"sentratech-{form.name}.csv", header, rows)


@blp.route("/forms/<tab>/<record_id>")
@page(roles.OPERATOR)
def forms_detail(tab: str, record_id: str):
    """One record: every field, its sync state, and each delivery to the dashboard with its attempts."""
    form = _form(tab)
    record = _record(form, record_id)
    return render_template("console/sentratech/form.html", **_common(tab, form), record=record,
                           deliveries=services.sync_deliveries(record.id), dashboard=dashboard_configured(),
                           is_admin=roles.allows(g.operator.role, roles.ADMIN))


def _record(form: Form, record_id: str):
    try:
        return services.find_record(form, record_id)
    except services.RecordNotFound as missing:
        abort(404, missing.message)


@blp.route("/forms/<tab>/<record_id>/resync", methods=["POST"])
@page(roles.OPERATOR)
def forms_resync(tab: str, record_id: str):
    """Queue this record for the dashboard again (the API's re-sync, of one record)."""
    form = _form(tab)
    record = _record(form, record_id)
    try:
        queued = services.resync(form.name, only_failed=False, actor=actor(), record_id=record.id)
    except services.DashboardNotConfigured as problem:
        flash(f"Not re-synced: {problem.message}.", "error")
    else:
        flash("Queued for the dashboard again." if queued else
              "Not queued again: a delivery of this record is already waiting.", "ok")
    return redirect(url_for("console.forms_detail", tab=tab, record_id=record.id), 303)


@blp.route("/forms/resync-failed", methods=["POST"])
@page(roles.OPERATOR)
def forms_resync_failed():
    """Queue every failed record of the tab's form for the dashboard again (the API's `only_failed`)."""
    tab = request.form.get("form") or ""
    form = _form(tab)
    try:
        queued = services.resync(form.name, only_failed=True, actor=actor())
    except services.DashboardNotConfigured as problem:
        flash(f"Not re-synced: {problem.message}.", "error")
    else:
        flash(f"Queued {queued} failed {form.label.lower()}(s) for the dashboard again.", "ok")
    return redirect(url_for("console.forms", form=tab), 303)
