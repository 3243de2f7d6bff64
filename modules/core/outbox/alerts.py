"""Alerts: ADMIN_EMAIL hears of a destination in trouble, at most once per destination per
OUTBOX_ALERT_INTERVAL_SECONDS, in one digest e-mail.

A check (the periodic job `outbox.alerts`, every minute, and queued at once by the engine when a breaker
opens or a message goes dead) looks at every destination for reasons to alert:
- its circuit breaker is not closed;
- messages of its kinds went dead since its last alert, or within the last window, whichever began
  earlier (so an alert counts exactly those that died since the previous one, and a destination never
  alerted about counts those of the last window only, not every dead message of its past);
- its oldest pending message is older than OUTBOX_BACKLOG_ALERT_SECONDS (0: never).

With a reason, one conditional UPDATE of its `outbox_destination` row claims the right to alert (none in
the last window), so several workers send one alert. The digest names the destination, its state, the
reasons, the last error and how many messages wait and are dead, and the commands to look further; it
holds no payload, no recipient and no message text. It goes through the outbox itself (kind
`core.alert_email`, to the `smtp` destination), so a failed send is retried like any e-mail. An alert
that cannot go by e-mail (it is about `smtp` itself, the smtp destination is paused or its breaker is not
closed, or SMTP or ADMIN_EMAIL is not set) is logged at ERROR instead and kept in the row's `unsent_alert`,
which `/health` shows until a check finds no reason left.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update

from modules.core.extensions import db
from modules.core.mail import SmtpClient, SmtpSettings, smtp_configured, wire_address
from modules.core.models import OutboxDestination, OutboxMessage
from modules.core.outbox import control, destinations, writing
from modules.core.outbox.delivery import ALERT_CHECK_KEY
from modules.core.outbox.handlers import Deferred, Message, Status, handler
from modules.core.queue import app_job, waiting_job_started
from modules.core.scheduler import periodic
from modules.core.types import isoformat, utcnow

ALERT_KIND = "core.alert_email"
SMTP = "smtp"  # the destination of every e-mail kind
# As FASTCore's e-mails: an SMTP outage of up to about two days costs no alert.
ALERT_BACKOFF = (10, 60, 300, 1800, 7200, 21600, 43200, 86400)
SENDER_NAME = "Integration hub"

log = logging.getLogger(__name__)


@periodic("outbox.alerts", every_seconds=60, name="Alert ADMIN_EMAIL about outbox destinations in trouble")
@app_job
def check(now: datetime | None = None) -> dict[str, str]:
    """Look at every destination and alert where there is a reason and none was sent in the window.
    Returns, per destination with a reason or alerted about in the window: "mailed" (a digest queued),
    "logged" (logged at ERROR and shown on /health instead) or "within the window" (nothing sent).

    A destination alerted about in the window with nothing on /health is not even counted: nothing a check
    finds could change it, so a storm of dead messages (each queues a check) costs a read of the small
    destination table per check."""
    waiting_job_started(ALERT_CHECK_KEY)
    now = now or utcnow()
    interval = timedelta(seconds=current_app.config["OUTBOX_ALERT_INTERVAL_SECONDS"])
    rows = {row.name: row for row in db.session.execute(select(
        OutboxDestination.name, OutboxDestination.breaker, OutboxDestination.breaker_since,
        OutboxDestination.failures, OutboxDestination.alerted_at, OutboxDestination.unsent_alert))}
    outcomes = {}
    for name in destinations.names():
        row = rows.get(name)
        if row is not None and row.alerted_at and row.alerted_at > now - interval and row.unsent_alert is None:
            outcomes[name] = "within the window"
            continue
        described = control.state(name)
        reasons = _reasons(described, row, now, interval)
        if not reasons:
            db.session.execute(update(OutboxDestination).where(
                OutboxDestination.name == name, OutboxDestination.unsent_alert.is_not(None)).values(unsent_alert=None))
        elif _claim(name, now, interval):
            outcomes[name] = _alert(described, reasons, now, interval)
        else:
            outcomes[name] = "within the window"
        db.session.commit()
    return outcomes


def unsent() -> list[dict[str, str | None]]:
    """Alerts that could not be mailed, for /health: [{"destination", "alert" (state, reasons and counts:
    never a peer's error text), "at" (ISO 8601)}]. One read of the small destination table."""
    found = db.session.execute(
        select(OutboxDestination.name, OutboxDestination.unsent_alert, OutboxDestination.alerted_at)
        .where(OutboxDestination.unsent_alert.is_not(None)).order_by(OutboxDestination.name))
    return [{"destination": name, "alert": alert, "at": isoformat(at)} for name, alert, at in found]


def _reasons(described: dict[str, Any], row: Any, now: datetime, interval: timedelta) -> list[str]:
    """Why `described` (control.state's shape) deserves an alert now; [] when nothing is wrong. Counted through
    the (status, next_attempt_at) index: status first, then the destination's kinds."""
    reasons = []
    if row is not None and row.breaker != destinations.Breaker.CLOSED:
        reasons.append(f"circuit breaker {row.breaker.replace('_', ' ')} after {row.failures} consecutive failures")
    kinds = described["kinds"]
    if described["dead"]:
        since = min(row.alerted_at or now - interval, now - interval) if row is not None else now - interval
        dead = db.session.scalar(select(func.count()).where(
            OutboxMessage.status == Status.DEAD, OutboxMessage.kind.in_(kinds), OutboxMessage.updated_at > since))
        if dead:
            reasons.append(f"{dead} message{'s' if dead > 1 else ''} went dead since {_at(since)}")
    threshold = current_app.config["OUTBOX_BACKLOG_ALERT_SECONDS"]
    if described["pending"] and threshold > 0:
        oldest = db.session.scalar(select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == Status.PENDING, OutboxMessage.kind.in_(kinds)))
        if oldest is not None and (now - oldest).total_seconds() > threshold:
            reasons.append(f"the oldest waiting message is {_age((now - oldest).total_seconds())} old "
                           f"(OUTBOX_BACKLOG_ALERT_SECONDS: {_age(threshold)})")
    return reasons


def _claim(name: str, now: datetime, interval: timedelta) -> bool:
    """The right to alert about `name` now: True for exactly one checker per window (a conditional UPDATE)."""
    destinations.ensure(name, now)
    claimed = db.session.execute(update(OutboxDestination).where(
        OutboxDestination.name == name,
        or_(OutboxDestination.alerted_at.is_(None), OutboxDestination.alerted_at <= now - interval))
        .values(alerted_at=now))
    return claimed.rowcount == 1


def _alert(described: dict[str, Any], reasons: list[str], now: datetime, interval: timedelta) -> str:
    """Queue the digest e-mail, or, when it cannot go, log the alert at ERROR and keep it for /health."""
    name = described["name"]
    last = _last_failure(described["kinds"])
    facts = {"destination": name, "state": described["state"], "reasons": reasons, "pending": described["pending"],
             "dead": described["dead"], "last_status_code": last[1] if last else None}
    row = OutboxDestination.name == name
    not_mailed = _why_not_mailed(name)
    if not_mailed:
        log.error("outbox alert not mailed: %s", not_mailed, extra=facts)
        db.session.execute(update(OutboxDestination).where(row).values(unsent_alert=_summary(described, reasons)))
        return "logged"
    subject = f"[hub] outbox alert: {name} {described['state']}"
    writing.add(ALERT_KIND, {"destination": name, "subject": subject,
                             "body": _digest(described, reasons, last, now, interval)}, subject_id=name)
    db.session.execute(update(OutboxDestination).where(row).values(unsent_alert=None))
    log.warning("outbox alert queued for ADMIN_EMAIL", extra=facts)
    return "mailed"


def _why_not_mailed(name: str) -> str | None:
    """Why an alert about `name` cannot go by e-mail now (it would wait behind the trouble), or None."""
    config = current_app.config
    if name == SMTP:
        return "the failing destination is SMTP itself"
    smtp = control.state(SMTP)["state"]
    if smtp != "active":
        return f"the smtp destination is {smtp}"
    if not smtp_configured(config) or not config.get("ADMIN_EMAIL"):
        return "SMTP_HOST, FROM_EMAIL or ADMIN_EMAIL is not set"
    return None


def _last_failure(kinds: list[str]) -> tuple[str, int | None, datetime] | None:
    """(error, status code, when) of the destination's latest failed or deferred attempt still on record."""
    found = db.session.execute(
        select(OutboxMessage.last_error, OutboxMessage.last_status_code, OutboxMessage.updated_at)
        .where(OutboxMessage.status.in_([Status.PENDING, Status.DEAD]), OutboxMessage.kind.in_(kinds),
               OutboxMessage.last_error.is_not(None))
        .order_by(OutboxMessage.updated_at.desc()).limit(1)).first()
    return tuple(found) if found else None


def _summary(described: dict[str, Any], reasons: list[str]) -> str:
    """The /health text of an alert: destination, state, reasons and counts (no error text)."""
    state = described["state"] + (f" since {_at(described['since'])}" if described["since"] else "")
    return (f"{described['name']} {state}: {'; '.join(reasons)}; "
            f"{described['pending']} pending, {described['dead']} dead")[:500]


def _digest(described: dict[str, Any], reasons: list[str], last: tuple | None, now: datetime,
            interval: timedelta) -> str:
    """The e-mail's text: what is wrong with the destination and where to look; no message content."""
    name, kinds = described["name"], described["kinds"]
    lines = [f"Destination: {name} (kinds: {', '.join(kinds)})", f"State: {_state(described)}", "",
             "Why this alert:"]
    lines += [f"- {reason}" for reason in reasons]
    error = f"{last[0]} (status {last[1] or 'none'}, at {_at(last[2])})" if last else "none on record"
    lines += ["", f"Last error: {error}",
              f"Waiting: {described['pending']} pending, {described['dead']} dead", "",
              "Look further (with an operator token, GET /api/admin/outbox?status=dead&kind=KIND):",
              "  flask outbox destinations"]
    for kind in kinds:
        lines += [f"  flask outbox list --status dead --kind {kind}", f"  flask outbox replay --kind {kind}"]
    lines += ["", f"No other alert about {name} before {_at(now + interval)} (OUTBOX_ALERT_INTERVAL_SECONDS)."]
    return "\n".join(lines) + "\n"


def _state(described: dict[str, Any]) -> str:
    if described["state"] == "paused":
        return (f"paused since {_at(described['since'])} by {described['paused_by']}: "
                f"{described['reason']}")
    if described["state"] == "active":
        return "active (not paused, circuit breaker closed)"
    return f"circuit breaker {described['state']} since {_at(described['since'])}; next probe at " \
           f"{_at(described['retry_at'])}"


def _at(moment: datetime | None) -> str:
    return isoformat(moment.replace(microsecond=0)) if moment else "unknown"


def _age(seconds: float) -> str:
    """A duration as people read it: "45 s", "12 min", "3 h 05 min", "2 d 4 h"."""
    minutes = int(seconds) // 60
    if minutes < 1:
        return f"{int(seconds)} s"
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


@handler(ALERT_KIND, backoff=ALERT_BACKOFF, destination=SMTP)
def send_alert(message: Message) -> int:
    """Mail a digest to ADMIN_EMAIL (read when sending: a fixed address reaches the alerts still waiting)."""
    recipients = current_app.config.get("ADMIN_EMAIL") or []
    if not recipients:
        raise Deferred("ADMIN_EMAIL is not configured; the alert waits")
    settings = SmtpSettings.from_config(current_app.config)
    sender = wire_address(settings.sender, "FROM_EMAIL")
    email = EmailMessage()
    email["Date"] = formatdate(localtime=False)
    email["Subject"] = message.payload["subject"]
    email["From"] = Address(SENDER_NAME, sender.username, sender.domain)
    email["To"] = [wire_address(recipient, "ADMIN_EMAIL") for recipient in recipients]
    # The outbox id in the Message-ID: the same at every retry, so a receiver can spot a resend.
    email["Message-ID"] = f"<{message.id}.alert@{sender.domain or 'localhost'}>"
    email.set_content(message.payload["body"])
    SmtpClient(settings).send(email)
    return 250
