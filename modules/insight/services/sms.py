"""SMS: queued in the request's transaction (an `insight.sms` outbox row), sent by the worker."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from sqlalchemy import func, select

from modules.core import audit, outbox
from modules.core.exceptions import Invalid, Unavailable
from modules.core.extensions import db
from modules.core.fields import CanonicalChoice
from modules.core.registry import Concern
from modules.core.security import charge, would_refuse
from modules.core.sql import dialect_insert
from modules.core.types import new_id, utcnow
from modules.insight.clients import ArkeselClient, ProviderUnavailable
from modules.insight.jobs import SMS_KIND
from modules.insight.models import BULK_SMS_RECIPIENTS, TEMPLATE_ACTIONS, Customer, SmsMessage, SmsTemplate
from modules.insight.normalise import format_amount, international_phone
from modules.insight.segments import segments
from modules.insight.services import sms_costs
from modules.insight.services.common import (
    CUSTOMER_GONE,
    Actor,
    InvalidFields,
    canonical_id,
    commit_written,
    get_customer,
    not_found,
)
from modules.insight.services.sms_delivery import Delivery, sms_delivery
from modules.insight.templates import DEFAULT_TEMPLATES, render

STATUS_LOOKUPS = 20  # provider look-ups per status request, so that a bulk message answers quickly
RECIPIENT_LIMIT = "SMS_RECIPIENTS_PER_HOUR"
RECIPIENT_SCOPE = "insight.sms-recipients"  # one count per operator across bulk, custom and template sends
NOT_CONFIGURED = "SMS service is not configured."


def _require_configured() -> ArkeselClient:
    client = ArkeselClient.from_config()
    if client is None:
        raise Unavailable(NOT_CONFIGURED)
    return client


def _queue(kind: str, recipients: list[str], text: str, actor: Actor, customer: Customer | None = None) -> str:
    """Store the SMS and its outbox row, once today's segment caps (DailyCapReached) and the actor's
    SMS_RECIPIENTS_PER_HOUR (core security's TooManyRequests) allow them; returns the message id. The
    segments are counted first, in the transaction: a refusal after them rolls them back. A customer
    deleted by a concurrent request meanwhile is NotFound."""
    parts = segments(text)
    sms_costs.spend_segments(parts * len(recipients), actor)
    charge(RECIPIENT_LIMIT, cost=len(recipients), scope=RECIPIENT_SCOPE, identity=actor.audit)
    sms = SmsMessage(id=new_id(), customer_id=customer.id if customer else None, kind=kind, recipients=recipients,
                     message=text, status="queued", provider_ids={}, segments=parts, receipts={},
                     performed_by=actor.name, created_at=utcnow())
    db.session.add(sms)
    sms.outbox_id = outbox.add(SMS_KIND, {"sms_id": sms.id}, subject_id=sms.id)
    audit.record("insight", "sms.queued", actor=actor.audit, subject_id=sms.id,
                 details={"kind": kind, "recipients": len(recipients), "segments": parts * len(recipients)})
    return commit_written(sms, CUSTOMER_GONE)["id"]


def _customer_recipient(customer: Customer) -> list[str]:
    """The customer's stored phone in the gateway's form; one that cannot be (stored before today's checks,
    or under another DEFAULT_PHONE_REGION) is Invalid INVALID_CUSTOMER_PHONE naming the customer."""
    try:
        return [international_phone(customer.phone, current_app.config["DEFAULT_PHONE_REGION"])]
    except ValueError as exc:
        raise Invalid(f"The phone number of {customer.name} (account {customer.account_number}) cannot be used "
                      f"for SMS: {exc} Correct the customer first.", code="INVALID_CUSTOMER_PHONE",
                      details={"customer_id": customer.id, "account_number": customer.account_number}) from exc


def _queued_answer(message_id: str, who: str) -> dict[str, Any]:
    return {"status": "success", "message": f"SMS queued for {who}.", "message_id": message_id}


def send_bulk(phones: list[str], text: str, actor: Actor) -> dict[str, Any]:
    """Queue one text to many phones, once Arkesel's balance can pay for it (BalanceTooLow; see
    sms_costs.check_balance), asked before the transaction begins."""
    client = _require_configured()
    recipients = bulk_recipients(phones)
    sms_costs.check_balance(client, segments(text) * len(recipients))
    return _queued_answer(_queue("bulk", recipients, text, actor), f"{len(recipients)} recipient(s)")


def bulk_recipients(phones: list[str]) -> list[str]:
    """The distinct recipients of a bulk send, in the gateway's form, in the order given; InvalidFields naming
    the place of a phone that cannot be one."""
    region = current_app.config["DEFAULT_PHONE_REGION"]
    return list(dict.fromkeys(_bulk_recipient(index, phone, region) for index, phone in enumerate(phones)))


def bulk_quote(phones: list[str], text: str, actor: Actor) -> dict[str, Any]:
    """What a bulk send of `text` to `phones` would cost and whether the cost guard would refuse it now,
    counting and queueing nothing (the console's preview): {"recipients" (distinct), "segments" (per
    recipient), "cost" (segments in all), "refusals" (the guard's reasons, empty when it would send)}. Asks
    the same checks as `send_bulk`: configured, usable phones, BULK_SMS_RECIPIENTS, the daily segment caps,
    the actor's SMS_RECIPIENTS_PER_HOUR, Arkesel's balance."""
    client = ArkeselClient.from_config()
    try:
        recipients = bulk_recipients(phones)
    except InvalidFields as problem:
        return {"recipients": len(phones), "segments": segments(text), "cost": 0, "refusals": [problem.message]}
    parts = segments(text)
    cost = parts * len(recipients)
    refusals = [] if client else [NOT_CONFIGURED]
    if len(recipients) > BULK_SMS_RECIPIENTS:
        refusals.append(f"A bulk SMS goes to at most {BULK_SMS_RECIPIENTS} recipients: narrow the list.")
    refusals += sms_costs.cap_refusals(cost, actor)
    over_hour = would_refuse(RECIPIENT_LIMIT, RECIPIENT_SCOPE, actor.audit, len(recipients))
    if over_hour:
        refusals.append(f"Over {over_hour[0]} SMS recipients for you ({RECIPIENT_LIMIT}): try again in "
                        f"{over_hour[1]} s.")
    balance = sms_costs.balance_refusal(client, cost) if client and not refusals else None  # asked last: a call
    return {"recipients": len(recipients), "segments": parts, "cost": cost, "refusals": [*refusals, balance]
            if balance else refusals}


def _bulk_recipient(index: int, phone: str, region: str) -> str:
    """A checked phone (national form) in the gateway's form; should that fail, InvalidFields naming its place."""
    try:
        return international_phone(phone, region)
    except ValueError as exc:
        raise InvalidFields(str(exc), details={"recipients": {index: [str(exc)]}}) from exc


def send_to_customer(customer_id: str, text: str, include_arrears: bool, actor: Actor) -> dict[str, Any]:
    _require_configured()
    customer = get_customer(customer_id)
    if include_arrears:
        text = f"{text}\nYour current arrears are: GHS {format_amount(customer.arrears)}"
    name = customer.name  # read before the commit, after which the customer may be gone
    return _queued_answer(_queue("custom", _customer_recipient(customer), text, actor, customer), name)


def send_template(action: str, customer_id: str, actor: Actor) -> dict[str, Any]:
    """Send the template `action` (any letter case) to a customer."""
    action = template_action(action)
    _require_configured()
    customer = get_customer(customer_id)
    text = template_message(action, customer)
    name = customer.name  # read before the commit, after which the customer may be gone
    return _queued_answer(_queue(action, _customer_recipient(customer), text, actor, customer), name)


def template_action(name: str) -> str:
    """A template's name as stored (`Warning` is `warning`); NotFound for another name."""
    try:
        return _TEMPLATE_NAMES.deserialize(name)
    except ValidationError as exc:
        raise not_found("Template") from exc


_TEMPLATE_NAMES = CanonicalChoice(TEMPLATE_ACTIONS)


def template_message(action: str, customer: Customer) -> str:
    """The final text of the template `action` (as stored) to `customer`: {name} and {amount} filled in."""
    return render(template_text(action), customer.name, customer.arrears)


def template_text(action: str) -> str:
    stored = db.session.get(SmsTemplate, action)
    return stored.message if stored else DEFAULT_TEMPLATES[action]


def list_templates() -> list[dict[str, Any]]:
    stored = {row.action: row for row in db.session.scalars(select(SmsTemplate))}
    return [{"action": action, "message": stored[action].message if action in stored else DEFAULT_TEMPLATES[action],
             "updated_at": stored[action].updated_at if action in stored else None} for action in TEMPLATE_ACTIONS]


def update_template(action: str, text: str, actor: Actor) -> dict[str, Any]:
    """Store the wording of a template (`action` in any letter case). One upsert, so that the first edits of
    a template, made at once, all succeed and the last one wins."""
    action = template_action(action)
    table = SmsTemplate.__table__
    values = {"message": text, "updated_by": actor.name, "updated_at": utcnow()}
    statement = dialect_insert(table).values(action=action, **values)
    db.session.execute(statement.on_conflict_do_update(index_elements=[table.c.action], set_=values))
    audit.record("insight", "sms.template_updated", actor=actor.audit, subject_id=action)
    db.session.commit()
    return {"action": action, **values}


def delivery_status(message_id: str) -> dict[str, Any]:
    """Our state of the message, its recipients by delivery outcome (`sms_delivery`) and, once Arkesel has
    it, Arkesel's status of each recipient it gave an id for."""
    key = canonical_id(message_id)
    sms = db.session.get(SmsMessage, key) if key else None
    if sms is None:
        raise not_found("SMS message")
    queued = outbox.get(sms.outbox_id) if sms.outbox_id else None
    answer = {"message_id": sms.id, "status": sms.status, "recipients": len(sms.recipients),
              "attempts": queued.attempts if queued else 0, "last_error": sms.error or (queued and queued.last_error),
              "created_at": sms.created_at, "sent_at": sms.sent_at, "segments": sms.segments,
              "receipts": sms_delivery(sms).counts, "provider": [], "provider_error": None}
    client = ArkeselClient.from_config()
    tracked = [(recipient, provider_id) for recipient, provider_id in sms.provider_ids.items() if provider_id]
    if tracked and client is None:
        answer["provider_error"] = NOT_CONFIGURED
    elif tracked:
        try:
            for recipient, provider_id in tracked[:STATUS_LOOKUPS]:
                status = client.status(provider_id).get("status")
                answer["provider"].append({"recipient": recipient, "id": provider_id,
                                           "status": str(status) if status is not None else None})
        except ProviderUnavailable as exc:
            answer["provider_error"] = str(exc)
    return answer


def customer_messages(customer_id: str, most: int) -> list[tuple[SmsMessage, Delivery]]:
    """The customer's `most` latest SMS, newest first, each with its delivery state (`sms_delivery`: the
    recipients by outcome, and the receipts kept in `receipts`). Through the customer_id index."""
    found = db.session.scalars(select(SmsMessage).where(SmsMessage.customer_id == customer_id)
                               .order_by(SmsMessage.created_at.desc(), SmsMessage.id).limit(most))
    return [(sms, sms_delivery(sms)) for sms in found]


def failing_sms(now: datetime) -> list[Concern]:
    """The console's "needs attention": SMS created in the last day that failed (Arkesel refused them, or
    every recipient's receipt says failed). Counted through the created_at index: a day's SMS are few (the
    daily segment cap bounds them)."""
    failed = db.session.scalar(select(func.count()).select_from(SmsMessage).where(
        SmsMessage.created_at >= now - timedelta(days=1), SmsMessage.status == "failed"))
    return [Concern(f"{failed} SMS failed in the last day", failed)] if failed else []
