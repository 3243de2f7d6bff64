"""The Deliveries pages (admins only): the outbox newest first with its filters, a CSV of every matching
message, each message with its attempts and a retry, a replay of many by the filter (a preview, then a
confirmation), and each destination's state with pause, resume and close-breaker.

Everything goes through the outbox's services, the same as `/api/admin/outbox` (`outbox.listing`,
`outbox.traced`, `outbox.replay`, `outbox.control`), with the operator as the actor, so console actions are
audited like the API's. A bad filter value re-renders the page with the reason (a 422); a service's
refusal becomes a flashed message or a 404/422 page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from modules.console.access import page
from modules.console.blueprint import blp
from modules.console.export import csv_response
from modules.core import outbox, roles
from modules.core.access import actor
from modules.core.exceptions import Invalid, NotFound
from modules.core.outbox.destinations import destination_of
from modules.core.outbox.listing import STATUSES, Filter
from modules.core.outbox.replaying import Selection

PAGE_SIZE = 50
TIME_FILTERS = ("since", "until")
TEXT_FILTERS = ("destination", "kind", "status", "subject_id", "idempotency_key")
CSV_HEADER = ("created_at", "id", "kind", "destination", "subject_id", "status", "attempts", "last_status_code",
              "last_error", "next_attempt_at", "delivered_at")
PARTS = {"table": "console/_deliveries_table.html", "destinations": "console/_destinations.html"}


def parse_time(name: str, text: str) -> datetime:
    """An ISO 8601 time from the filter form; one without a time zone is UTC, as the page shows times."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"{name} is not a time: write it as 2026-12-01 or 2026-12-01T08:30Z") from None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def filter_from(args: dict[str, str]) -> Filter:
    """The page's filter from its query arguments; raises `Invalid`, saying which value is wrong."""
    given: dict[str, Any] = {name: (args.get(name) or "").strip() or None for name in TEXT_FILTERS}
    for name in TIME_FILTERS:
        if (args.get(name) or "").strip():
            given[name] = parse_time(name, args[name])
    matching = Filter(**given)
    matching.check()
    return matching


def _choices() -> dict[str, list[str]]:
    return {"destination_names": outbox.destinations.names(), "kinds": [kind["kind"] for kind in outbox.policy.kinds()],
            "statuses": list(STATUSES)}


def _listed() -> dict[str, Any]:
    """The table's context: this page of messages and the next page's cursor, or the filter's problem."""
    try:
        found, older = outbox.listing.newest(filter_from(request.args), PAGE_SIZE, request.args.get("after") or None)
    except Invalid as problem:
        return {"messages": [], "older": None, "problem": problem.message}
    return {"messages": found, "older": older, "problem": None}


@blp.route("/deliveries")
@page(roles.ADMIN)
def deliveries():
    """The list, its filter form and the destinations; `format=csv` downloads every matching message."""
    if request.args.get("format") == "csv":
        return _export()
    listed = _listed()
    return render_template("console/deliveries.html", **listed, **_choices(), destination_of=destination_of,
                           destinations=outbox.control.states(), args=request.args), 422 if listed["problem"] else 200


@blp.route("/deliveries/live/<part>")
@page(roles.ADMIN)
def deliveries_fragment(part: str):
    """A live region's HTML (the table, or the destinations panel) without the layout."""
    if part not in PARTS:
        abort(404, "No such part of the Deliveries page.")
    context = _listed() if part == "table" else {"destinations": outbox.control.states()}
    return render_template(PARTS[part], **context, destination_of=destination_of)


def _export():
    try:
        matching = filter_from(request.args)
    except Invalid as problem:
        abort(422, problem.message)
    rows = ((message.created_at, message.id, message.kind, destination_of(message.kind), message.subject_id,
             message.status, message.attempts, message.last_status_code, message.last_error, message.next_attempt_at,
             message.delivered_at) for message in outbox.listing.every(matching))
    return csv_response("deliveries.csv", CSV_HEADER, rows)


@blp.route("/deliveries/<message_id>")
@page(roles.ADMIN)
def deliveries_message(message_id: str):
    """One message with every attempt, the record it is about, and a retry."""
    found = outbox.traced(message_id)
    if found is None:
        abort(404, "No outbox message has this id (delivered messages are deleted after OUTBOX_RETENTION_DAYS).")
    return render_template("console/delivery.html", message=found, state=_state_of(found["destination"]))


def _state_of(destination: str) -> dict[str, Any] | None:
    try:
        return outbox.control.state(destination)
    except NotFound:
        return None


@blp.route("/deliveries/<message_id>/retry", methods=["POST"])
@page(roles.ADMIN)
def deliveries_retry(message_id: str):
    """Deliver one message again, through the replay the API uses (a selection of its id)."""
    message = outbox.get(message_id)
    if message is None:
        abort(404, "No outbox message has this id.")
    try:
        outbox.replay(Selection(ids=(message_id,), status=message.status), actor=actor())
    except Invalid as problem:
        flash(f"Not retried: {problem.message}", "error")
    else:
        flash("Queued for delivery again: it goes with the next drain.", "ok")
    return redirect(url_for("console.deliveries_message", message_id=message_id), 303)


@blp.route("/deliveries/replay", methods=["GET", "POST"])
@page(roles.ADMIN)
def deliveries_replay():
    """GET: how many messages, of which kinds, a replay by the page's filter takes (a dry run) and a form
    to confirm. POST (confirm=1): the replay of the same filter, then back to the list."""
    filters = {key: value for key, value in request.args.items() if key not in ("after", "format") and value}
    try:
        selection = filter_from(request.args).selection()
        counts = outbox.preview(selection)
    except Invalid as problem:
        return render_template("console/replay.html", filters=filters, problem=problem.message,
                               status=request.args.get("status")), 422
    if request.method == "GET" or request.form.get("confirm") != "1":
        return render_template("console/replay.html", filters=filters, by_kind=counts,
                               matched=sum(counts.values()), status=selection.status)
    try:
        answer = outbox.replay(selection, actor=actor())
    except Invalid as problem:
        flash(f"Nothing replayed: {problem.message}", "error")
    else:
        flash(f"Replayed {answer['replayed']} message(s): they go with the next drain.", "ok")
    return redirect(url_for("console.deliveries", **filters), 303)


@blp.route("/deliveries/destinations/<name>/<action>", methods=["POST"])
@page(roles.ADMIN)
def deliveries_destination(name: str, action: str):
    """Pause (with a reason), resume, or close the breaker of a destination, as the API does."""
    try:
        if action == "pause":
            outbox.control.pause(name, request.form.get("reason"), actor=actor())
            flash(f"{name} is paused: its messages wait, using no attempt.", "ok")
        elif action == "resume":
            outbox.control.resume(name, actor=actor())
            flash(f"{name} is resumed: its backlog goes, oldest first.", "ok")
        elif action == "close-breaker":
            outbox.control.close_breaker(name, actor=actor())
            flash(f"{name}'s breaker is closed: its backlog goes now.", "ok")
        else:
            abort(404, "No such action on a destination.")
    except NotFound as missing:
        abort(404, missing.message)
    except Invalid as problem:
        flash(f"{name}: {problem.message}", "error")
    return redirect(url_for("console.deliveries"), 303)
