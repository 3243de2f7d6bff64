"""A tracked link's page: its fields with the edit form, deactivate/reactivate, the copy-ready tracking URL,
analytics over a chosen window (the API's figures, top referrers, the clicks-per-day chart as SVG from its own
endpoint) and its last clicks as a live region (topic `records`)."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from modules.console.access import page
from modules.console.blueprint import blp
from modules.console.links import chart
from modules.console.links.forms import WINDOWS, chosen_window, load_form, problems, tracking_url
from modules.core import roles
from modules.core.exceptions import NotFound
from modules.link_tracking import analytics, services
from modules.link_tracking.models import TrackedLink
from modules.link_tracking.schemas import TrackedLinkUpdateSchema

EDITABLE = ("original_url", "link_function", "link_type", "description")
LAST_CLICKS = 20


def _link(tracking_id: str) -> TrackedLink:
    try:
        return services.get_link(tracking_id)
    except NotFound as missing:
        abort(404, missing.message)


def _page(link: TrackedLink, days: int, form: Any = None, errors: list[str] | None = None) -> str:
    return render_template(
        "console/links/detail.html", link=link, days=days, windows=WINDOWS, tracking_url=tracking_url(link.tracking_id),
        figures=analytics.link_analytics(link.tracking_id, days),
        referrers=analytics.top_referrers(link.tracking_id, days),
        clicks=analytics.last_clicks(link.tracking_id, LAST_CLICKS), form=form or {}, errors=errors or [])


@blp.route("/links/<tracking_id>")
@page(roles.OPERATOR)
def links_detail(tracking_id: str):
    """The link, its analytics over `days` (7, 30 or 90) and its last clicks."""
    return _page(_link(tracking_id), chosen_window())


@blp.route("/links/<tracking_id>", methods=["POST"])
@page(roles.OPERATOR)
def links_edit(tracking_id: str):
    """Change the destination, function, type and description (the API's PATCH schema and service); only the
    fields that differ are changed, so the audit names what changed."""
    link = _link(tracking_id)
    names = EDITABLE
    if not link.original_url and not request.form.get("original_url", "").strip():
        names = tuple(name for name in EDITABLE if name != "original_url")  # auto-registered: still none
    try:
        loaded = load_form(TrackedLinkUpdateSchema(), names, blank_is_absent=False)
    except ValidationError as refused:
        return _page(link, chosen_window(), request.form, problems(refused)), 422
    changes = {name: value for name, value in loaded.items() if (getattr(link, name) or "") != (value or "")}
    if changes:
        services.update_link(link.tracking_id, changes)
        flash(f"Saved: {', '.join(sorted(changes))}.", "ok")
    else:
        flash("Nothing changed.", "ok")
    return redirect(url_for("console.links_detail", tracking_id=link.tracking_id), 303)


@blp.route("/links/<tracking_id>/<action>", methods=["POST"])
@page(roles.OPERATOR)
def links_activation(tracking_id: str, action: str):
    """`deactivate` (the API's DELETE: /track answers 404, the clicks stay) or `reactivate` (the API's PATCH
    with is_active true)."""
    link = _link(tracking_id)
    if action == "deactivate":
        services.deactivate_link(link.tracking_id)
        flash("Deactivated: its tracking URL now answers 404; its clicks are kept.", "ok")
    elif action == "reactivate":
        services.update_link(link.tracking_id, {"is_active": True})
        flash("Reactivated: its tracking URL redirects again.", "ok")
    else:
        abort(404, "No such action on a link.")
    return redirect(url_for("console.links_detail", tracking_id=link.tracking_id), 303)


@blp.route("/links/<tracking_id>/chart.svg")
@page(roles.OPERATOR)
def links_chart(tracking_id: str) -> Response:
    """The clicks per day of the window as an SVG image (shown with <img>)."""
    figures = analytics.link_analytics(_link(tracking_id).tracking_id, chosen_window())
    return chart.svg_response(chart.clicks_per_day(figures["clicks_by_day"]))


@blp.route("/links/<tracking_id>/last-clicks")
@page(roles.OPERATOR)
def links_last_clicks(tracking_id: str):
    """The live region's HTML: the last clicks, without the layout."""
    link = _link(tracking_id)
    return render_template("console/links/_last_clicks.html", link=link,
                           clicks=analytics.last_clicks(link.tracking_id, LAST_CLICKS))
