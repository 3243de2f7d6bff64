"""Outbox handlers for the lead e-mails (and the kinds they own), and the periodic flush of the fallback queue."""

from __future__ import annotations

from email.message import EmailMessage

from flask import current_app

from modules.core import audit, outbox
from modules.core.extensions import db
from modules.core.mail import SmtpClient, SmtpSettings
from modules.core.queue import app_job
from modules.core.scheduler import periodic
from modules.fastcore import emails
from modules.fastcore.models import DOMAIN, Lead

WELCOME_KIND = "fastcore.welcome_email"
ALERT_KIND = "fastcore.admin_alert"
EMAIL_KINDS = (WELCOME_KIND, ALERT_KIND)
# Long enough that an SMTP outage or a missing SMTP configuration costs no e-mail: about two days of
# attempts before a message is dead (and then `flask outbox replay --kind ...` sends it).
EMAIL_BACKOFF = (10, 60, 300, 1800, 7200, 21600, 43200, 86400)
MAILER_ACTOR = "mailer"


def _lead(message: outbox.Message) -> Lead:
    lead = db.session.get(Lead, message.payload["lead_id"])
    if lead is None:
        raise outbox.Permanent("lead not found")
    return lead


def _send(message: outbox.Message, lead: Lead, email: EmailMessage, kind: str) -> int:
    refused = SmtpClient(SmtpSettings.from_config(current_app.config)).send(email)
    audit.record(DOMAIN, "email.sent", actor=MAILER_ACTOR, subject_id=lead.id, request_id=lead.request_id,
                 status_code=250, details={"email": kind, "outbox_id": message.id, "attempt": message.attempts + 1,
                                           "refused_recipients": len(refused)})
    return 250


def _audit_failure(message: outbox.Message) -> None:
    lead = db.session.get(Lead, message.payload.get("lead_id"))
    audit.record(DOMAIN, "email.failed", actor=MAILER_ACTOR, subject_id=message.payload.get("lead_id"),
                 request_id=lead.request_id if lead else None, status_code=message.last_status_code,
                 details={"email": message.kind.removeprefix("fastcore."), "outbox_id": message.id,
                          "attempts": message.attempts, "error": message.last_error})


@outbox.handler(WELCOME_KIND, backoff=EMAIL_BACKOFF, on_dead=_audit_failure, destination="smtp")
def send_welcome_email(message: outbox.Message) -> int:
    lead = _lead(message)
    sender = current_app.config.get("FROM_EMAIL") or ""
    return _send(message, lead, emails.welcome(lead, sender, message.id), "welcome_email")


@outbox.handler(ALERT_KIND, backoff=EMAIL_BACKOFF, on_dead=_audit_failure, destination="smtp")
def send_admin_alert(message: outbox.Message) -> int:
    lead = _lead(message)
    recipients = current_app.config.get("ADMIN_EMAIL") or []
    if not recipients:
        raise outbox.Deferred("ADMIN_EMAIL is not configured; the alert waits")
    sender = current_app.config.get("FROM_EMAIL") or ""
    return _send(message, lead, emails.admin_alert(lead, sender, recipients, message.id), "admin_alert")


@periodic("fastcore.flush_queue", every_seconds=300, name="Write queued FASTCore leads to the database")
@app_job
def flush_queue() -> dict:
    """Scheduled every 5 minutes; returns the flush report as the job's result."""
    # Imported here: the flush writes leads with their e-mails, whose kinds this module owns (a real cycle:
    # fallback -> services -> jobs).
    from modules.fastcore import fallback

    return fallback.flush().as_dict()
