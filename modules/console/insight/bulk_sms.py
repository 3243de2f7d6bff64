"""A bulk SMS to the customers of a filtered list: write the text, see what the send costs and whether the
cost guard would refuse it (`services.sms.bulk_quote`: recipients, segments, daily caps, the hourly limit of
recipients, Arkesel's balance), then confirm; the send is the API's (`services.sms.send_bulk`)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.exceptions import TooManyRequests

from modules.console import once
from modules.console.access import page
from modules.console.blueprint import blp
from modules.console.insight.customer import refused
from modules.console.insight.customers import filter_args, list_filters
from modules.core import roles
from modules.core.exceptions import DomainError, Invalid
from modules.insight.access import current_actor
from modules.insight.models import BULK_SMS_RECIPIENTS
from modules.insight.services import customers as customer_service
from modules.insight.services import sms
from modules.insight.sms_schemas import SmsTextSchema


def _text(given: str | None) -> tuple[str | None, str | None]:
    """(the text, None) when it is a valid SMS text, else (None, why not)."""
    try:
        return SmsTextSchema().load({"message": given or ""})["message"], None
    except ValidationError as exc:
        return None, " ".join(exc.messages["message"])


@blp.route("/customers/sms-bulk", methods=["GET", "POST"])
@page(roles.OPERATOR)
def customers_bulk_sms():
    """GET without a text: the form. GET with `message`: the preview (the guard's answer) and, when it would
    send, a form to confirm. POST (confirm=1): the send, then back to the list."""
    filters = filter_args(request.args)
    try:
        matching = list_filters(request.args)
    except Invalid as problem:
        return render_template("console/insight/bulk_sms.html", filters=filters, problem=problem.message), 422
    text, problem = _text(request.values.get("message")) if "message" in request.values else (None, None)
    if text is None:
        return render_template("console/insight/bulk_sms.html", filters=filters, problem=problem,
                               message=request.values.get("message", "")), 422 if problem else 200
    phones = customer_service.phones_of(matching, BULK_SMS_RECIPIENTS + 1)
    quote = sms.bulk_quote(phones, text, current_actor()) if phones else None
    if request.method == "GET" or request.form.get("confirm") != "1" or not quote or quote["refusals"]:
        return render_template("console/insight/bulk_sms.html", filters=filters, message=text, quote=quote,
                               limit=BULK_SMS_RECIPIENTS)
    if not once.claim():
        flash(once.ALREADY, "ok")
        return redirect(url_for("console.customers", **filters), 303)
    try:
        answer = sms.send_bulk(phones, text, current_actor())
    except (DomainError, TooManyRequests) as refusal:
        once.release()
        flash(f"Not sent: {refused(refusal)}", "error")
        return redirect(url_for("console.customers_bulk_sms", **filters, message=text), 303)
    flash(answer["message"], "ok")
    return redirect(url_for("console.customers", **filters), 303)
