"""The tracked links list: search, filters, numbered pages, each link's clicks over the last 7 and 30 days (from
the daily rollup), the create form, and the CSV of the clicks of a window."""

from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from modules.console.access import page
from modules.console.blueprint import blp
from modules.console.export import csv_response
from modules.console.links.forms import WINDOWS, chosen_window, load_form, problems
from modules.core import roles
from modules.core.exceptions import Conflict, NotFound
from modules.core.paging import MAX_OFFSET
from modules.link_tracking import analytics, services
from modules.link_tracking.schemas import TrackedLinkCreateSchema

PAGE_SIZE = 50
RECENT = (7, 30)
CREATE_FIELDS = ("original_url", "tracking_id", "link_function", "link_type", "description")
ACTIVE = {"": None, "true": True, "false": False}
CSV_HEADER = ("clicked_at", "tracking_id", "click_source", "referrer_url", "session_id", "ip_address", "user_agent",
              "event_id", "click_id", "received_at", "metadata")


def _page_number() -> int:
    given = (request.args.get("page") or "1").strip()
    number = int(given) if given.isascii() and given.isdigit() else 0
    if not 1 <= number <= MAX_OFFSET // PAGE_SIZE:
        abort(422, f"The page is a whole number from 1 to {MAX_OFFSET // PAGE_SIZE}, not {given!r}.")
    return number


def _filters() -> dict[str, Any]:
    """The list's filters from the query: search, link_function, link_type, active ("", "true", "false")."""
    active = request.args.get("active", "")
    if active not in ACTIVE:
        abort(422, f"active is true, false or empty, not {active!r}.")
    text = {name: (request.args.get(name) or "").strip() or None for name in ("search", "link_function", "link_type")}
    if any("\x00" in value for value in text.values() if value):
        abort(422, "A filter must not contain NUL (0x00) characters.")
    return {**text, "active": ACTIVE[active]}


def _listing() -> dict[str, Any]:
    number = _page_number()
    total, links = services.list_links(limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE, **_filters())
    return {"links": links, "total": total, "page_number": number, "last_page": number * PAGE_SIZE >= total,
            "recent": analytics.clicks_per_link((link.tracking_id for link in links), RECENT), "windows": RECENT,
            "args": request.args, "export_windows": WINDOWS}


@blp.route("/links")
@page(roles.OPERATOR)
def links():
    """Tracked links, newest first, with their filters and the create form."""
    return render_template("console/links/list.html", **_listing(), form={}, errors=[])


@blp.route("/links", methods=["POST"])
@page(roles.OPERATOR)
def links_create():
    """Create a link with the API's schema and service; back to the form with the reasons when refused."""
    try:
        link = services.create_link(load_form(TrackedLinkCreateSchema(), CREATE_FIELDS, blank_is_absent=True))
    except ValidationError as refused:
        errors = problems(refused)
    except Conflict as taken:
        errors = [f"Tracking id: {taken.message}"]
    else:
        flash(f"Link {link.tracking_id} created: share its tracking URL below.", "ok")
        return redirect(url_for("console.links_detail", tracking_id=link.tracking_id), 303)
    return render_template("console/links/list.html", **_listing(), form=request.form, errors=errors), 422


@blp.route("/link-clicks")
@page(roles.OPERATOR)
def links_clicks():
    """CSV of every click of the chosen window (whole UTC days ending today), of one link (`tracking_id`) or
    all, oldest first, streamed."""
    days = chosen_window()
    tracking_id = (request.args.get("tracking_id") or "").strip() or None
    if tracking_id is not None:
        try:
            tracking_id = services.get_link(tracking_id).tracking_id
        except NotFound as missing:
            abort(404, missing.message)
    since, until = analytics.window(days)
    rows = ((click.clicked_at, click.tracking_id, click.click_source, click.referrer_url, click.session_id,
             click.ip_address, click.user_agent, click.event_id, click.click_id, click.received_at,
             _metadata(click.metadata)) for click in analytics.clicks_between(since, until, tracking_id))
    name = f"link-clicks-{days}d.csv" if tracking_id else f"clicks-{days}d.csv"
    return csv_response(name, CSV_HEADER, rows)


def _metadata(value: Any) -> str | None:
    """A click's metadata as compact JSON text, as sent (non-ASCII kept)."""
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
