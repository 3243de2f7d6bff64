"""A customer's page: their details, actions and SMS history (each SMS with its delivery receipts);
connect, disconnect and warn; an SMS from a template, previewed (the final text and its segments) before
it is sent."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError
from werkzeug.exceptions import TooManyRequests

from modules.console import once
from modules.console.access import page
from modules.console.blueprint import blp
from modules.core import roles
from modules.core.exceptions import DomainError, NotFound
from modules.core.extensions import db
from modules.insight.access import current_actor
from modules.insight.models import ACTIONS, TEMPLATE_ACTIONS, Customer
from modules.insight.schemas import ActionCreateSchema
from modules.insight.segments import segments
from modules.insight.services import actions, sms
from modules.insight.services.common import get_customer

HISTORY = 50  # latest actions and SMS shown
VERBS = {"connect": "connected", "disconnect": "disconnected", "warn": "warned"}


def _customer(customer_id: str) -> Customer:
    try:
        return get_customer(customer_id)
    except NotFound:
        abort(404, "No customer has this id (a deleted customer's page is gone).")


def refused(refusal: DomainError | TooManyRequests) -> str:
    """What a send's refusal says (the transaction is rolled back: nothing was counted or queued)."""
    db.session.rollback()
    if isinstance(refusal, TooManyRequests):
        return f"you reached your limit of SMS recipients ({refusal.description}); try again later."
    return refusal.message


def _back(customer_id: str):
    return redirect(url_for("console.customers_detail", customer_id=customer_id), 303)


@blp.route("/customers/<customer_id>")
@page(roles.OPERATOR)
def customers_detail(customer_id: str):
    customer = _customer(customer_id)
    history = actions.list_actions({"page": 1, "limit": HISTORY}, customer.id)["data"]
    return render_template("console/insight/customer.html", customer=customer, actions=ACTIONS, history=history,
                           messages=sms.customer_messages(customer.id, HISTORY), templates=TEMPLATE_ACTIONS)


@blp.route("/customers/<customer_id>/actions", methods=["POST"])
@page(roles.OPERATOR)
def customers_action(customer_id: str):
    """Connect, disconnect or warn, recorded as the API records an action (`source` manual)."""
    customer = _customer(customer_id)
    try:
        data = ActionCreateSchema().load({"customer_id": customer.id, "action": request.form.get("action", "")})
        actions.record_action(data, current_actor())
    except ValidationError:
        flash(f"Choose one of the actions: {', '.join(ACTIONS)}.", "error")
    except NotFound:
        abort(404, "This customer was deleted meanwhile.")
    else:
        flash(f"{customer.name} is {VERBS[data['action']]}.", "ok")
    return _back(customer_id)


@blp.route("/customers/<customer_id>/sms", methods=["GET", "POST"])
@page(roles.OPERATOR)
def customers_sms(customer_id: str):
    """GET: the final text of the chosen template to this customer and its segment count, with a form to
    confirm. POST (confirm=1): the send, through the API's template send, when the text is still the one
    previewed (else the new text is shown again, to be confirmed)."""
    customer = _customer(customer_id)
    try:
        template = sms.template_action(request.values.get("template", ""))
    except NotFound:
        flash(f"Choose one of the templates: {', '.join(TEMPLATE_ACTIONS)}.", "error")
        return _back(customer_id)
    text = sms.template_message(template, customer)
    changed = request.method == "POST" and request.form.get("previewed") != text
    if request.method == "GET" or changed or request.form.get("confirm") != "1":
        return render_template("console/insight/sms_preview.html", customer=customer, template=template, text=text,
                               segments=segments(text), changed=changed), 409 if changed else 200
    if not once.claim():
        flash(once.ALREADY, "ok")
        return _back(customer_id)
    try:
        answer = sms.send_template(template, customer.id, current_actor())
    except NotFound:
        once.release()
        abort(404, "This customer was deleted meanwhile.")
    except (DomainError, TooManyRequests) as refusal:
        once.release()
        flash(f"Not sent: {refused(refusal)}", "error")
    else:
        flash(f"{answer['message']} Its delivery shows below as Arkesel reports it.", "ok")
    return _back(customer_id)
