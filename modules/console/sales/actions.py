"""The DTech sales actions of the console (agents and admins): start a sale, continue it, ask DTech for its
status, stop it with a reason, and upload a call recording.

Each goes through the service the API's view calls (modules/dtech/services.py), with the API's schema for
its fields (forms.py), the same per-operator budget of DTech calls (access.count_partner_call, counting
`operator:<id>` as the operator's API tokens do) and the API's upload limits, so a console action is
refused, audited and counted as the same request to the API would be. DTech is called synchronously, with
DTECH_TIMEOUT_SECONDS: when it fails the page flashes DTech's error and nothing is stored; never a 500.

DTech's URL of a started or continued sale is shown on the process page (kept in the signed session for
that one display): a POST cannot redirect to it, since the console's Content-Security-Policy
(`form-action 'self'`) stops a form's redirect to another site.

A recording's MD5 is computed by the hub while the file is received (as the API's upload does): the agent
picks the file and gives the call's times, the hub spools and hashes the file, announces it to DTech with
that hash and keeps it, in one request that works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import TooManyRequests

from modules.console import once, sessions
from modules.console.access import page
from modules.console.blueprint import blp
from modules.console.sales.forms import CONTINUE_FIELDS, START_FIELDS, FormProblems, body_from, load
from modules.console.sales.pages import OPENED, render_detail
from modules.core import roles
from modules.core.access import actor
from modules.core.exceptions import DomainError, NotFound
from modules.core.security import charge
from modules.dtech import recordings, services
from modules.dtech.access import count_partner_call
from modules.dtech.errors import RecordingTooLarge
from modules.dtech.schemas import CallRecordingUrlSchema, SalesContinueSchema, SalesStartSchema, SalesStopSchema

UPLOAD_ENDPOINT = "console.sales_upload"
UPLOAD_SCOPE = "dtech.upload_recording"  # the API's upload view: both count against one INGEST_RATE_LIMIT


@blp.url_value_preprocessor
def allow_recording_bodies(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    """A recording upload may be as large as DTECH_MAX_RECORDING_BYTES, not just MAX_CONTENT_LENGTH.

    The CSRF check (a before_request of the blueprint) parses the form before the view runs; Flask runs URL
    value preprocessors before every before_request function, so the limit is raised here, and only for a
    signed-in agent or admin: anyone else's body keeps MAX_CONTENT_LENGTH."""
    if endpoint != UPLOAD_ENDPOINT or request.method != "POST":
        return
    signed_in = sessions.current()
    if signed_in is None or not roles.allows(signed_in.role, roles.AGENT):
        return
    try:
        request.max_content_length = recordings.max_body_bytes(request.content_length)
    except RecordingTooLarge as refused:
        abort(413, refused.message)


def _partner_call(call: Callable[[], Any]) -> Any:
    """`call` once the operator's DTech budget allows it; DTech's failure or the budget's refusal is raised as
    a DomainError or TooManyRequests, which the views flash."""
    count_partner_call(identity=actor())
    return call()


def _refusal(problem: Exception) -> str:
    if isinstance(problem, TooManyRequests):
        return f"Too many calls to DTech for now: try again in a minute ({problem.description})."
    return problem.message if isinstance(problem, DomainError) else str(problem)


@blp.route("/sales/start", methods=["GET", "POST"])
@page(roles.AGENT)
def sales_start():
    """GET: the form of a new sale (the API's start fields). POST: start it at DTech; then its page."""
    if request.method == "GET":
        return render_template("console/sales/start.html", fields=START_FIELDS, problems={}, posted={})
    if not once.claim():
        flash(once.ALREADY, "ok")
        return redirect(url_for("console.sales"), 303)
    try:
        try:
            data = load(SalesStartSchema(), body_from(request.form, (name for name, _ in START_FIELDS)))
            answer = _partner_call(lambda: services.start_process(data, g.operator.id))
        except BaseException:
            once.release()  # not started: the same form may be sent again
            raise
    except FormProblems as refused:
        return render_template("console/sales/start.html", fields=START_FIELDS, problems=refused.problems,
                               posted=request.form), 422
    except (DomainError, TooManyRequests) as problem:
        flash(f"Not started: {_refusal(problem)}", "error")
        return render_template("console/sales/start.html", fields=START_FIELDS, problems={},
                               posted=request.form), 502 if isinstance(problem, DomainError) else 429
    _show_once(answer["sales_process_id"], answer)
    flash("The sale is started at DTech.", "ok")
    return redirect(url_for("console.sales_detail", sales_process_id=answer["sales_process_id"]), 303)


def _show_once(sales_process_id: str, answer: dict[str, Any]) -> None:
    session[OPENED] = {"sales_process_id": str(sales_process_id), "url": str(answer["url"]),
                       "url_expiry": None if answer.get("url_expiry") is None else str(answer["url_expiry"])}


def _process(sales_process_id: str):
    try:
        return services.get_process(sales_process_id)
    except NotFound as missing:
        abort(404, missing.message)


@blp.route("/sales/<sales_process_id>/continue", methods=["POST"])
@page(roles.AGENT)
def sales_continue(sales_process_id: str):
    """A fresh DTech URL for the process, shown on its page."""
    _process(sales_process_id)
    try:
        data = load(SalesContinueSchema(), body_from(request.form, (name for name, _ in CONTINUE_FIELDS)))
        answer = _partner_call(lambda: services.continue_process(sales_process_id, data))
    except FormProblems as refused:
        return render_detail(sales_process_id, refused.problems, 422)
    except (DomainError, TooManyRequests) as problem:
        flash(f"Not continued: {_refusal(problem)}", "error")
    else:
        _show_once(sales_process_id, answer)
        flash("DTech gave a fresh URL for this sale.", "ok")
    return redirect(url_for("console.sales_detail", sales_process_id=sales_process_id), 303)


@blp.route("/sales/<sales_process_id>/status", methods=["POST"])
@page(roles.AGENT)
def sales_status(sales_process_id: str):
    """Ask DTech where the process stands; the local record follows its answer."""
    process = _process(sales_process_id)
    try:
        _partner_call(lambda: services.process_status(sales_process_id, process.account_id))
    except (DomainError, TooManyRequests) as problem:
        flash(f"DTech's status is unknown: {_refusal(problem)}", "error")
    else:
        flash("Status asked from DTech.", "ok")
    return redirect(url_for("console.sales_detail", sales_process_id=sales_process_id), 303)


@blp.route("/sales/<sales_process_id>/stop", methods=["POST"])
@page(roles.AGENT)
def sales_stop(sales_process_id: str):
    """Stop the process at DTech with the agent's reason."""
    process = _process(sales_process_id)
    try:
        data = load(SalesStopSchema(), {**body_from(request.form, ("reason",)), "account_id": process.account_id})
        if not data.get("reason"):
            raise FormProblems({"reason": "Missing data for required field."})
        _partner_call(lambda: services.stop_process(sales_process_id, data["account_id"], data["reason"]))
    except FormProblems as refused:
        return render_detail(sales_process_id, refused.problems, 422)
    except (DomainError, TooManyRequests) as problem:
        flash(f"Not stopped: {_refusal(problem)}", "error")
    else:
        flash("The sale is stopped at DTech.", "ok")
    return redirect(url_for("console.sales_detail", sales_process_id=sales_process_id), 303)


@blp.route("/sales/<sales_process_id>/recordings", methods=["POST"])
@page(roles.AGENT)
def sales_upload(sales_process_id: str):
    """Upload a call recording: a new one (announced to DTech with the MD5 the hub computed), or, with
    `upload_id`, the file of one announced through the API that is still pending or failed."""
    process = _process(sales_process_id)
    given = request.files.get(recordings.FILE_FIELD)
    if given is None or not given.filename:
        return render_detail(sales_process_id, {"file": "Choose the recording's file."}, 422)
    try:
        charge("INGEST_RATE_LIMIT", scope=UPLOAD_SCOPE, identity=actor())
        received = recordings.spool(given.stream)
        upload_id = request.form.get("upload_id") or None
        try:
            recording = _announced(process, upload_id) if upload_id else _announce(process, given, received.md5)
        except BaseException:
            received.discard()
            raise
        services.accept_upload(recording, received)
    except FormProblems as refused:
        return render_detail(sales_process_id, refused.problems, 422)
    except (DomainError, TooManyRequests) as problem:
        flash(f"Recording not kept: {_refusal(problem)}", "error")
    else:
        flash("Recording received: a worker sends it to DTech's upload URL.", "ok")
    return redirect(url_for("console.sales_detail", sales_process_id=sales_process_id), 303)


def _announced(process, upload_id: str):
    recording = services.get_recording(upload_id)
    if recording.process_id != process.id:
        raise NotFound("No recording upload with that id on this sale")
    return services.uploadable_recording(upload_id)


def _announce(process, given, md5: str):
    """A new recording announced to DTech with the received file's MD5, name and the form's times."""
    body = {**body_from(request.form, ("date_start", "date_end", "external_ref", "content_type")),
            "account_id": process.account_id, "recording_hash": md5, "filename": given.filename}
    data = load(CallRecordingUrlSchema(), body)
    announced = _partner_call(lambda: services.request_recording_url(process.sales_process_id, data))
    return services.uploadable_recording(announced["upload_id"])
