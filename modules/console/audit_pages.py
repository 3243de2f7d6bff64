"""The audit log page (admins): every audited action, newest first, filtered by actor, subject, action,
domain and time; a page at a time by keyset (modules/core/audit_query.py); the same list as CSV."""

from __future__ import annotations

from flask import render_template, request

from modules.console.access import page
from modules.console.blueprint import blp
from modules.console.export import csv_response
from modules.core import audit_query, roles
from modules.core.audit_query import AuditFilter, AuditRow
from modules.core.exceptions import Invalid

CSV_HEADER = ("time", "domain", "event", "actor", "operator_email", "subject_id", "request_id", "status",
              "details")


def chosen_filter() -> AuditFilter:
    """The filter in the query string; `Invalid` for a time that is not one. The operator select, when
    set, is the actor (`operator:<id>`) and wins over the typed actor."""
    args = request.args

    def text(name: str) -> str | None:
        return (args.get(name) or "").strip() or None

    return AuditFilter(actor=text("operator") or text("actor"), subject_id=text("subject"),
                       action=text("action"), domain=text("domain"),
                       since=audit_query.parse_time(args.get("since"), "From"),
                       until=audit_query.parse_time(args.get("until"), "Until"))


def csv_row(row: AuditRow) -> list:
    entry = row.entry
    return [entry.created_at, entry.domain, entry.event, entry.actor, row.operator_email, entry.subject_id,
            entry.request_id, entry.status_code, row.details_json]


@blp.route("/audit")
@page(roles.ADMIN)
def audit():
    """The list; `format=csv` streams every matching entry (not just this page)."""
    operators = audit_query.operator_choices()
    try:
        chosen = chosen_filter()
        if request.args.get("format") == "csv":
            rows = map(csv_row, audit_query.every_row(chosen))
            return csv_response("audit-log.csv", CSV_HEADER, rows)
        listed = audit_query.page(chosen, request.args.get("after") or None)
    except Invalid as refusal:
        return render_template("console/audit.html", listed=None, error=refusal.message,
                               operators=operators), 422
    return render_template("console/audit.html", listed=listed, operators=operators,
                           first_page=not request.args.get("after"))
