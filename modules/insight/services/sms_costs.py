"""The SMS cost guard: segments queued per UTC day against the daily caps, and Arkesel's balance before a
bulk send.

A send costs its text's segments (`modules.insight.segments`) times its recipients. The day's count, for the
whole hub and for each operator, is a row of `insight_sms_usage` raised by one conditional UPDATE in the
request's transaction: two sends at once cannot both take the last segments (PostgreSQL re-checks the
condition on the row the other committed), and a send refused later in its request (or whose commit fails)
spends nothing, since the count is rolled back with it.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select, update

from modules.core.extensions import db
from modules.core.sql import dialect_insert
from modules.core.types import utcnow
from modules.insight.clients import ArkeselClient, ProviderUnavailable
from modules.insight.models import SmsUsage
from modules.insight.services.common import Actor, BalanceTooLow, DailyCapReached

log = logging.getLogger(__name__)
HUB = "hub"  # the scope of the whole hub's count; an operator's is their audit name, `operator:<id>`


def _caps(actor: Actor) -> list[tuple[str, str, str, int]]:
    """(scope, setting, whose, cap) of each daily count a send of `actor` goes against (cap 0: none)."""
    return [(scope, setting, whose, int(current_app.config[setting]))
            for scope, setting, whose in ((actor.audit, "SMS_DAILY_SEGMENT_CAP_PER_OPERATOR", "Your"),
                                          (HUB, "SMS_DAILY_SEGMENT_CAP", "The hub's"))]


def _used(day: date, scope: str) -> int:
    return db.session.scalar(select(SmsUsage.segments).where(SmsUsage.day == day, SmsUsage.scope == scope)) or 0


def _over_cap(setting: str, whose: str, cap: int, used: int, cost: int) -> str:
    return f"{whose} daily SMS cap is {cap} segments ({setting}): {used} used today (UTC), this send needs {cost}."


def spend_segments(cost: int, actor: Actor) -> None:
    """Count `cost` segments for today (UTC), for the actor against SMS_DAILY_SEGMENT_CAP_PER_OPERATOR and for
    the hub against SMS_DAILY_SEGMENT_CAP (0: no cap; the count is kept all the same). Joins the caller's
    transaction. Raises DailyCapReached, naming the count, the cap and the cost, when either would go over."""
    now = utcnow()
    for scope, setting, whose, cap in _caps(actor):
        if not _add(now.date(), scope, cost, cap):
            used = _used(now.date(), scope)
            db.session.rollback()
            raise DailyCapReached(f"{_over_cap(setting, whose, cap, used, cost)} The count starts again at "
                                  "midnight UTC.", retry_after=_seconds_to_midnight(now))


def cap_refusals(cost: int, actor: Actor) -> list[str]:
    """What `spend_segments` would refuse `cost` segments with now, counting nothing (a preview): one line
    per daily cap it would go over, none when both allow it."""
    today = utcnow().date()
    return [_over_cap(setting, whose, cap, used, cost) for scope, setting, whose, cap in _caps(actor)
            if cap > 0 and (used := _used(today, scope)) + cost > cap]


def _add(day, scope: str, cost: int, cap: int) -> bool:
    """Raise the day's count of `scope` by `cost` unless that would take it over `cap` (0: no cap)."""
    table = SmsUsage.__table__
    db.session.execute(dialect_insert(table).values(day=day, scope=scope, segments=0)
                       .on_conflict_do_nothing(index_elements=[table.c.day, table.c.scope]))
    row = [table.c.day == day, table.c.scope == scope]
    if cap > 0:
        row.append(table.c.segments + cost <= cap)
    return db.session.execute(update(table).where(*row).values(segments=table.c.segments + cost)).rowcount == 1


def _seconds_to_midnight(now: datetime) -> int:
    midnight = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)
    return max(1, math.ceil((midnight - now).total_seconds()))


def balance_refusal(client: ArkeselClient, cost: int) -> str | None:
    """Why Arkesel's balance cannot pay a send of `cost` SMS, or None when it can or cannot be read
    (ARKESEL_STATUS_TIMEOUT_SECONDS, an error, an odd answer): the send then goes on, queued, and Arkesel
    itself refuses it later if the balance is short (a 402, the message then `failed`)."""
    try:
        balance = client.balance()
    except ProviderUnavailable as exc:
        log.warning("Arkesel balance not read; the bulk SMS is queued unchecked", extra={"reason": str(exc)})
        return None
    return f"The Arkesel balance is {balance} SMS; this send needs {cost}." if cost > balance else None


def check_balance(client: ArkeselClient, cost: int) -> None:
    """Refuse a send of `cost` SMS that Arkesel's balance cannot pay (BalanceTooLow; see balance_refusal)."""
    refusal = balance_refusal(client, cost)
    if refusal:
        raise BalanceTooLow(refusal)
