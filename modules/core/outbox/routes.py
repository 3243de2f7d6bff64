"""The outbox's operator API, `/api/admin/outbox/...`: list, count and trace messages, replay and purge
them by a filter (with a dry run first). Signed-in operators only; errors in the core's `{"detail"}`
envelope. A second blueprint of the core, registered by `app_modular` beside `modules/core/routes.py`'s."""

from __future__ import annotations

import logging

from flask_smorest import Blueprint

from modules.core import outbox
from modules.core.access import Guard, actor, documented, refuse_bearer
from modules.core.errors import answer_domain_errors
from modules.core.exceptions import NotFound
from modules.core.outbox.schemas import (
    OutboxPageSchema,
    OutboxQuerySchema,
    OutboxStatsSchema,
    PurgeResultSchema,
    PurgeSchema,
    ReplayResultSchema,
    ReplaySchema,
    SubjectTraceSchema,
    TracedMessageSchema,
)
from modules.core.schemas import PageQuerySchema

blp = Blueprint("outbox", __name__, description="Outbox administration: messages, their attempts, replays, purges")
answer_domain_errors(blp)
guard = Guard(refuse_bearer)
log = logging.getLogger(__name__)

ADMIN = "/api/admin/outbox"


@blp.route(ADMIN)
@guard.operator()
@blp.arguments(OutboxQuerySchema, location="query")
@blp.response(200, OutboxPageSchema)
def list_outbox(query):
    """Outbound messages, newest first, filtered by status and kind."""
    total, page = outbox.messages(query.get("status"), query.get("kind"), query["limit"], query["offset"])
    return {"total": total, "limit": query["limit"], "offset": query["offset"], "messages": page}


@blp.route(f"{ADMIN}/stats")
@guard.operator()
@blp.response(200, OutboxStatsSchema)
def outbox_stats():
    """Message counts by status, overall and per kind."""
    return outbox.stats()


@blp.route(f"{ADMIN}/replay", methods=["POST"])
@guard.operator()
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
@guard.operator()
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
@guard.operator()
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
@guard.operator()
@blp.response(200, TracedMessageSchema)
@documented(404, description="No message has this id")
def message_trace(message_id):
    """One message with its destination and every attempt."""
    found = outbox.traced(message_id)
    if found is None:
        raise NotFound("no outbox message has this id")
    return found
