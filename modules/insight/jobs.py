"""Outbox handler: an SMS goes to Arkesel from the worker; once accepted, a customer's SMS is an action.
Periodic jobs: SMS and daily SMS usage past their retention windows are deleted (`services/retention.py`)."""

from __future__ import annotations

from modules.core import outbox
from modules.core.extensions import db
from modules.core.queue import app_job
from modules.core.retention import EVERY_SECONDS
from modules.core.scheduler import periodic
from modules.core.types import new_id, utcnow
from modules.insight.clients import ArkeselClient
from modules.insight.models import SMS_SENT, CustomerAction, SmsMessage
from modules.insight.services import retention
from modules.insight.services.sms_delivery import locked, provider_ids_of, settle
from modules.insight.services.sms_receipts import callback_url

SMS_KIND = "insight.sms"


def _mark_failed(message: outbox.Message) -> None:
    sms = db.session.get(SmsMessage, message.payload.get("sms_id"))
    if sms is not None:
        sms.status, sms.error = "failed", message.last_error


@outbox.handler(SMS_KIND, on_dead=_mark_failed, destination="arkesel")
def deliver_sms(message: outbox.Message) -> int:
    """Send the SMS, then store the ids Arkesel answered and the state they give. Receipts may come while
    Arkesel is still answering: the message is read again under its lock after the send, so that those
    committed meanwhile count, and the worker never writes `receipts` (the ORM writes only the columns set
    here)."""
    sms = db.session.get(SmsMessage, message.payload.get("sms_id"))
    if sms is None:
        raise outbox.Permanent("the SMS record no longer exists")
    client = ArkeselClient.from_config()
    if client is None:
        raise outbox.Deferred("SMS service is not configured (ARKESEL_API_KEY, ARKESEL_SENDER_ID)")
    status_code, ids = client.send(sms.recipients, sms.message, callback_url(sms.id))
    sms = locked(sms.id)
    sms.provider_ids, sms.sent_at = provider_ids_of(sms.recipients, ids), utcnow()
    settle(sms)
    if sms.customer_id:
        db.session.add(CustomerAction(id=new_id(), customer_id=sms.customer_id, action=SMS_SENT,
                                      performed_by=sms.performed_by, source="sms", created_at=utcnow()))
    return status_code


@periodic("insight.sms_retention", every_seconds=EVERY_SECONDS, name="Delete SMS past INSIGHT_SMS_RETENTION_DAYS")
@app_job
def purge_sms() -> int:
    return retention.purge_sms()


@periodic("insight.sms_usage_retention", every_seconds=EVERY_SECONDS,
          name="Delete daily SMS usage past INSIGHT_SMS_USAGE_RETENTION_DAYS")
@app_job
def purge_sms_usage() -> int:
    return retention.purge_sms_usage()
