"""What Insight keeps for a while only: SMS (recipients' phone numbers and the text, personal data) and the
daily SMS usage counters. Customers, their actions, batches and SMS templates are kept (docs/operations.md,
"What is kept, what is purged")."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from modules.core.retention import MAX_BATCHES, cutoff_days, purge
from modules.core.types import utcnow
from modules.insight.models import SmsMessage, SmsUsage

DOMAIN = "insight"


def purge_sms(now: datetime | None = None, max_batches: int | None = MAX_BATCHES) -> int:
    """Delete SMS queued more than INSIGHT_SMS_RETENTION_DAYS ago (0: kept forever), except those still
    queued (their outbox message may yet send them), summarised by one audit entry `sms.purged`. Their
    `sms_sent` actions stay in the customers' history. Returns how many went."""
    return purge(DOMAIN, "sms.purged", SmsMessage, SmsMessage.created_at,
                 cutoff_days("INSIGHT_SMS_RETENTION_DAYS", now), where=[SmsMessage.status != "queued"],
                 max_batches=max_batches)


def purge_sms_usage(now: datetime | None = None, max_batches: int | None = MAX_BATCHES) -> int:
    """Delete the daily SMS usage counters of UTC days more than INSIGHT_SMS_USAGE_RETENTION_DAYS before today
    (0: kept forever); only today's count against the caps. Summarised by one audit entry `sms_usage.purged`.
    Returns how many rows went."""
    days = current_app.config["INSIGHT_SMS_USAGE_RETENTION_DAYS"]
    cutoff = (now or utcnow()).date() - timedelta(days=days) if days > 0 else None
    return purge(DOMAIN, "sms_usage.purged", SmsUsage, SmsUsage.day, cutoff, max_batches=max_batches)
