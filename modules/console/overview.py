"""The overview page, `/console/overview`, for any signed-in operator: the services (what `/health` knows, and
when the scheduler last ran), each domain's records received in the last hour and day, each destination's
state, backlog and dead messages, and what needs attention (attention.py).

The changing parts are two live regions (console.js refreshes them on server-sent events): `records`
(topic `records`) and `operations` (topics `deliveries destinations`: services, destinations, needs
attention). `/console/overview/live?part=<part>` answers one part's HTML without the layout.

Every count goes through an index (records by their creation time, outbox messages by status), so the page
costs a few milliseconds whatever the size of the tables.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import abort, g, render_template, request
from sqlalchemy.exc import SQLAlchemyError

from modules.console import attention
from modules.console.access import page
from modules.console.blueprint import blp
from modules.core import roles, scheduler
from modules.core.extensions import db
from modules.core.outbox import control
from modules.core.redis_client import REDIS_ERRORS, get_redis
from modules.core.registry import registry
from modules.core.routes import service_status
from modules.core.types import utcnow

PARTS = ("records", "operations")  # the live regions, each a template `console/_overview_<part>.html`


@blp.route("/overview")
@page()
def overview():
    now = utcnow()
    return render_template("console/overview.html", **records(now), **operations(now))


@blp.route("/overview/live")
@page()
def overview_fragment():
    """One live region's HTML (`part`: records or operations), without the layout."""
    part = request.args.get("part", "")
    if part not in PARTS:
        abort(404, f"No overview part named {part!r}; the parts are {', '.join(PARTS)}.")
    now = utcnow()
    facts = records(now) if part == "records" else operations(now)
    return render_template(f"console/_overview_{part}.html", **facts)


def records(now: datetime) -> dict[str, Any]:
    """{"received": [{"title", "hour", "day"}] per registered domain, "records_error": str | None}."""
    try:
        received = [{"title": counter.title, "hour": counter.count(now - timedelta(hours=1)),
                     "day": counter.count(now - timedelta(days=1))}
                    for counter in registry().record_counters.values()]
    except SQLAlchemyError as exc:
        db.session.rollback()
        return {"received": [], "records_error": f"the database is unavailable ({type(exc).__name__})"}
    return {"received": received, "records_error": None}


def operations(now: datetime) -> dict[str, Any]:
    """{"health" (service_status()), "last_tick" (the scheduler's last run or None), "destinations"
    (control.states(), [] without the database), "attention" (attention.Item list)}."""
    health = service_status()
    health["last_tick"] = _last_tick()
    destinations: list[dict[str, Any]] = []
    concerns = []
    if health.get("database") == "ok":
        try:
            destinations = control.states()
            concerns = [concern for check in registry().concern_checks.values() for concern in check(now)]
        except SQLAlchemyError as exc:
            db.session.rollback()
            health.update(status="unavailable", database=f"unavailable: {type(exc).__name__}")
    is_admin = roles.allows(g.operator.role, roles.ADMIN)
    return {"health": health, "destinations": destinations,
            "attention": attention.items(health, destinations, concerns, is_admin)}


def _last_tick() -> datetime | None:
    try:
        return scheduler.last_tick(get_redis())
    except REDIS_ERRORS:
        return None
