"""The outbox's operator API, `/api/admin/outbox/...`: list, count and trace messages, replay and purge
them by a filter (with a dry run first); see, pause and resume destinations, close a breaker; each kind's
policy. Signed-in admins only (a 403 for the `operator` role); errors in the core's `{"detail"}`
envelope. A second blueprint of the core, registered by `app_modular` beside `modules/core/routes.py`'s."""

from __future__ import annotations

import logging

from flask_smorest import Blueprint

from modules.core import outbox
from modules.core.access import Guard, actor, documented, refuse_bearer
from modules.core.errors import answer_domain_errors
from modules.core.exceptions import NotFound
from modules.core.outbox.schemas import (
    DestinationListSchema,
    DestinationSchema,
    KindListSchema,
    OutboxPageSchema,
    OutboxQuerySchema,
    OutboxStatsSchema,
    PauseSchema,
    PurgeResultSchema,
    PurgeSchema,
    ReplayResultSchema,
    ReplaySchema,
    SubjectTraceSchema,
    TracedMessageSchema,
)
from modules.core.roles import ADMIN as ADMIN_ROLE
from modules.core.schemas import PageQuerySchema

blp = Blueprint("outbox", __name__, description="Outbox administration: messages and their attempts, replays, purges, "
                "destinations and kinds")
answer_domain_errors(blp)
guard = Guard(refuse_bearer)
log = logging.getLogger(__name__)

ADMIN = "/api/admin/outbox"
FILTERS = ("destination", "kind", "status", "since", "until", "subject_id", "idempotency_key")


@blp.route(ADMIN)
@guard.operator(role=ADMIN_ROLE)
@blp.arguments(OutboxQuerySchema, location="query")
@blp.response(200, OutboxPageSchema)
def list_outbox(query):
    """Outbound messages, newest first, filtered by status, kind or destination, creation time (`since`
    inclusive, `until` exclusive, with a time zone), subject and idempotency key; every filter given must
    hold. `next` is the cursor of the following page: pass it as `after` (keyset paging: the answer then
    has no `total` nor `offset`); `offset` still works as before."""
    matching = outbox.listing.Filter(**{name: query.get(name) for name in FILTERS})
    if query.get("after"):
        found, following = outbox.listing.newest(matching, query["limit"], query["after"])
        return {"limit": query["limit"], "messages": found, "next": following}
    total, found, following = outbox.listing.counted(matching, query["limit"], query["offset"])
    return {"total": total, "limit": query["limit"], "offset": query["offset"], "messages": found, "next": following}


@blp.route(f"{ADMIN}/stats")
@guard.operator(role=ADMIN_ROLE)
@blp.response(200, OutboxStatsSchema)
def outbox_stats():
    """Message counts by status, overall and per kind."""
    return outbox.stats()


@blp.route(f"{ADMIN}/replay", methods=["POST"])
@guard.operator(role=ADMIN_ROLE)
@blp.arguments(ReplaySchema)
@blp.response(200, ReplayResultSchema)
def replay_outbox(body):
    """Deliver messages again, chosen by ids, kind or destination, status (`dead`, the default, or
    `delivered`), creation time (`since` inclusive, `until` exclusive, with a time zone) and subject; every
    filter given must hold, and `all` (or the older `all_dead`) is needed when none is given.

    `dry_run` answers how many messages, of which kinds, a replay would take, and changes nothing. The
    replay itself is one statement: the messages become pending with no attempt used, and one drain
    delivers them. The older bodies `{"ids": [...]}`, `{"kind": ...}` and `{"all_dead": true}` still work.
    Audit-logged as `outbox.replayed`."""
    answer = outbox.replay(body["selection"], body["dry_run"], actor=actor())
    log.info("outbox replay", extra={"matched": answer["matched"], "dry_run": answer["dry_run"]})
    return answer


@blp.route(f"{ADMIN}/purge", methods=["POST"])
@guard.operator(role=ADMIN_ROLE)
@blp.arguments(PurgeSchema)
@blp.response(200, PurgeResultSchema)
def purge_outbox(body):
    """Delete dead messages, with their attempts, chosen by the same filters as a replay (`dry_run`
    counts them first). Delivered messages are deleted by the retention job after OUTBOX_RETENTION_DAYS;
    pending ones never. Audit-logged as `outbox.purged`."""
    answer = outbox.purge_dead(body["selection"], body["dry_run"], actor=actor())
    log.info("outbox purge", extra={"matched": answer["matched"], "dry_run": answer["dry_run"]})
    return answer


@blp.route(f"{ADMIN}/subjects/<subject_id>")
@guard.operator(role=ADMIN_ROLE)
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, SubjectTraceSchema)
def subject_trace(query, subject_id):
    """Every message about one subject (a form, a lead, an SMS, a recording), oldest first, each with its
    destination and every attempt: when, the outcome, the peer's status code and what it said. A subject
    with no message has an empty list."""
    total, messages = outbox.trace(subject_id, query["limit"], query["offset"])
    return {"subject_id": subject_id, "total": total, "limit": query["limit"], "offset": query["offset"],
            "messages": messages}


@blp.route(f"{ADMIN}/messages/<message_id>")
@guard.operator(role=ADMIN_ROLE)
@blp.response(200, TracedMessageSchema)
@documented(404, description="No message has this id")
def message_trace(message_id):
    """One message with its destination and every attempt."""
    found = outbox.traced(message_id)
    if found is None:
        raise NotFound("no outbox message has this id")
    return found


@blp.route(f"{ADMIN}/destinations")
@guard.operator(role=ADMIN_ROLE)
@blp.response(200, DestinationListSchema)
def list_destinations():
    """Every destination: its state (active, paused, open, half_open), since when and why, its breaker's
    consecutive failures and last error, when a probe may go, its kinds, and its pending and dead messages."""
    return {"destinations": outbox.control.states()}


@blp.route(f"{ADMIN}/destinations/<name>")
@guard.operator(role=ADMIN_ROLE)
@blp.response(200, DestinationSchema)
@documented(404, description="No destination has this name")
def show_destination(name):
    """One destination's state."""
    return outbox.control.state(name)


@blp.route(f"{ADMIN}/destinations/<name>/pause", methods=["POST"])
@guard.operator(role=ADMIN_ROLE)
@blp.arguments(PauseSchema)
@blp.response(200, DestinationSchema)
@documented(404, description="No destination has this name")
def pause_destination(body, name):
    """Hold every message of the destination until it is resumed: none is claimed, none uses an attempt,
    none is dropped (a delivery already under way finishes). Audit-logged as `outbox.destination_paused`."""
    return outbox.control.pause(name, body.get("reason"), actor=actor())


@blp.route(f"{ADMIN}/destinations/<name>/resume", methods=["POST"])
@guard.operator(role=ADMIN_ROLE)
@blp.response(200, DestinationSchema)
@documented(404, description="No destination has this name")
def resume_destination(name):
    """Deliver the destination's messages again, oldest first. Audit-logged as `outbox.destination_resumed`."""
    return outbox.control.resume(name, actor=actor())


@blp.route(f"{ADMIN}/destinations/<name>/close-breaker", methods=["POST"])
@guard.operator(role=ADMIN_ROLE)
@blp.response(200, DestinationSchema)
@documented(404, description="No destination has this name")
def close_breaker(name):
    """Close the destination's circuit breaker now (the peer is known to be back) and deliver its backlog.
    Audit-logged as `outbox.breaker_closed`."""
    return outbox.control.close_breaker(name, actor=actor())


@blp.route(f"{ADMIN}/kinds")
@guard.operator(role=ADMIN_ROLE)
@blp.response(200, KindListSchema)
def list_kinds():
    """Every outbox kind: its destination, backoff (seconds before each retry) and attempts, the setting that
    overrides the backoff, the breaker's settings, and the destination's state."""
    return {"kinds": outbox.kinds()}
