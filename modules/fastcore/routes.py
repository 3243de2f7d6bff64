"""FASTCore endpoints: POST /inbound/leads for the site, the admin API (/admin/*) for operators.

Thin views over services.py, and the blueprint's one answer to the refusals of the domain's services."""

from __future__ import annotations

from flask_smorest import Blueprint

from modules.core.access import actor
from modules.core.errors import ApiError, answer_domain_errors, status_of
from modules.core.exceptions import DomainError, Invalid
from modules.core.schemas import DetailSchema
from modules.core.security import ingest_limit
from modules.fastcore import fallback, services
from modules.fastcore.access import admin, site_token
from modules.fastcore.models import LEAD_STATUSES
from modules.fastcore.schemas import (
    AdminHealthSchema,
    DuplicateSchema,
    FlushResultSchema,
    LeadAcceptedSchema,
    LeadDetailSchema,
    LeadInSchema,
    LeadListQuerySchema,
    LeadPageSchema,
    QueueClearedSchema,
    QueueReplayedSchema,
    QueueStatsSchema,
    SchedulerJobsSchema,
    StatusChangedSchema,
    StatusQuerySchema,
)
from modules.fastcore.services import DuplicateRequest

PATH_PREFIXES = ("/inbound/", "/admin/")  # a 404 or 405 under these answers in the domain's envelope too
blp = Blueprint("fastcore", __name__, description="FASTCore leads")


def answer(error: DomainError) -> ApiError:
    """The original service's bodies, `{"detail": <message>}`: a request it refused (a request_id that is not
    a UUID or is already taken, a status that is none of the statuses) is a 400, and a duplicate also names
    the lead it was stored as; a missing lead is a 404, storage that is down a 503."""
    if isinstance(error, DuplicateRequest):
        return ApiError(400, body={"detail": error.message, "leadId": error.lead_id})
    status = 400 if isinstance(error, Invalid) else status_of(error)
    return ApiError(status, body={"detail": error.message})


answer_domain_errors(blp, answer)


@blp.route("/inbound/leads", methods=["POST"])
@site_token
@ingest_limit()
@blp.arguments(LeadInSchema())  # an instance: a class would be instantiated per request
@blp.response(201, LeadAcceptedSchema, description="Stored")
@blp.alt_response(202, schema=LeadAcceptedSchema, description="Database down: queued, flushed within minutes")
@blp.alt_response(400, schema=DuplicateSchema, description="request_id not a UUID, or already processed")
@blp.alt_response(429, schema=DetailSchema, description="Over INGEST_RATE_LIMIT for this site token; see Retry-After")
@blp.alt_response(503, schema=DetailSchema, description="Database, Redis and the local queue file all failed")
def ingest_lead(lead):
    """Receive a contact-form lead from the site; e-mails follow from a worker."""
    accepted = services.ingest_lead(lead, actor())
    answer = {"leadId": accepted.lead_id, "timestamp": accepted.timestamp, "status": accepted.status}
    return answer, (201 if accepted.status == "received" else 202)


@blp.route("/admin/health")
@admin
@blp.response(200, AdminHealthSchema)
def admin_health():
    """Scheduler, its jobs, and whether lead e-mails can go out (smtp_configured, pending)."""
    return {"status": "ok", **services.scheduler_view(), "emails": services.email_health()}


@blp.route("/admin/leads")
@admin
@blp.arguments(LeadListQuerySchema, location="query")
@blp.response(200, LeadPageSchema)
def list_leads(query):
    """Leads, newest first; `status_filter` keeps one status."""
    total, leads = services.list_leads(query["limit"], query["offset"], query.get("status_filter"))
    return {"total": total, "limit": query["limit"], "offset": query["offset"], "leads": leads}


@blp.route("/admin/leads/<lead_id>")
@admin
@blp.response(200, LeadDetailSchema)
@blp.alt_response(404, schema=DetailSchema, description="Lead not found")
def lead_detail(lead_id):
    """One lead with its meta and its audit trail."""
    return services.lead_detail(lead_id)


@blp.route("/admin/leads/<lead_id>/status", methods=["PATCH"])
@admin
@blp.arguments(StatusQuerySchema, location="query")
@blp.response(200, StatusChangedSchema)
@blp.alt_response(400, schema=DetailSchema, description="Not one of " + ", ".join(LEAD_STATUSES))
@blp.alt_response(404, schema=DetailSchema, description="Lead not found")
def change_status(query, lead_id):
    """Move a lead to received, processing, resolved or archived, in any case (audited)."""
    return services.change_status(lead_id, query["new_status"], actor())


@blp.route("/admin/queue/stats")
@admin
@blp.response(200, QueueStatsSchema)
def queue_stats():
    """Leads waiting in the fallback queue, by failed attempts ("3" = dead), and the lead e-mails."""
    return {**fallback.stats(), "emails": services.email_health()}


@blp.route("/admin/queue/flush", methods=["POST"])
@admin
@blp.response(200, FlushResultSchema)
def flush_queue():
    """Write the due queued leads to the database now (the scheduler does it every 5 minutes)."""
    return {"status": "flush_triggered", **fallback.flush().as_dict()}


@blp.route("/admin/queue/replay", methods=["POST"])
@admin
@blp.response(200, QueueReplayedSchema)
def replay_queue():
    """Give dead queued leads a fresh set of attempts; the next flush writes them (audited)."""
    return {"status": "success", "replayed": fallback.replay(actor())}


@blp.route("/admin/queue/clear", methods=["DELETE"])
@admin
@blp.response(200, QueueClearedSchema)
def clear_queue():
    """Delete every queued lead, dead or not: they are lost (audited with their ids)."""
    fallback.clear(actor())
    return {"status": "success", "message": "Queue has been cleared"}


@blp.route("/admin/scheduler/jobs")
@admin
@blp.response(200, SchedulerJobsSchema)
def scheduler_jobs():
    """The hub's periodic jobs (the lead flush among them) and whether a scheduler is running."""
    return services.scheduler_view()
