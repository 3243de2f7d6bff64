"""FASTCore endpoints: lead ingest for the site, and the admin API."""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import ValidationError

from modules.core.errors import ApiError
from modules.core.fields import CanonicalChoice
from modules.core.schemas import DetailSchema
from modules.core.security import ingest_limit
from modules.fastcore import fallback, services
from modules.fastcore.guards import actor, require_admin, require_site_token
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

DUPLICATE = "Duplicate request (request_id already processed)"
ADMIN_SECURITY = [{"fastcoreAdminToken": []}, {"operatorBearer": []}]
LEAD_STATUS = CanonicalChoice(LEAD_STATUSES)

blp = Blueprint("fastcore", __name__, description="FASTCore leads")


def lead_not_found() -> ApiError:
    return ApiError(404, body={"detail": "Lead not found"})


def canonical_status(value: str) -> str:
    """A lead status given in any ASCII case, in its canonical spelling ("RESOLVED" -> "resolved"); anything
    else is the contract's 400 naming the statuses."""
    try:
        return LEAD_STATUS.deserialize(value)
    except ValidationError:
        raise ApiError(400, body={"detail": f"Invalid status. Must be one of: {', '.join(LEAD_STATUSES)}"}) from None


def admin_only(view):
    """Admin auth, outermost so it runs before the query string is read, and documented in OpenAPI."""
    documented = blp.alt_response(401, schema=DetailSchema, description="Missing, malformed or wrong admin token")(
        blp.doc(security=ADMIN_SECURITY)(view))
    return require_admin(documented)



@blp.route("/inbound/leads", methods=["POST"])
@require_site_token
@ingest_limit()
@blp.arguments(LeadInSchema)
@blp.response(201, LeadAcceptedSchema, description="Stored")
@blp.alt_response(202, schema=LeadAcceptedSchema, description="Database down: queued, flushed within minutes")
@blp.alt_response(400, schema=DuplicateSchema, description="request_id not a UUID, or already processed")
@blp.alt_response(401, schema=DetailSchema, description="Missing, malformed or wrong site token")
@blp.alt_response(429, schema=DetailSchema, description="Over INGEST_RATE_LIMIT for this site token; see Retry-After")
@blp.alt_response(503, schema=DetailSchema, description="Database, Redis and the local queue file all failed")
@blp.doc(security=[{"fastcoreSiteToken": []}])
def ingest_lead(lead):
    """Receive a contact-form lead from the site; e-mails follow from a worker."""
    try:
        accepted = services.ingest_lead(lead)
    except services.InvalidRequestId as exc:
        raise ApiError(400, body={"detail": f"Validation error: {exc}"}) from None
    except services.DuplicateRequest as duplicate:
        raise ApiError(400, body={"detail": DUPLICATE, "leadId": duplicate.lead_id}) from None
    except OSError:
        raise ApiError(503, body={"detail": "Lead storage unavailable, please retry"}) from None
    answer = {"leadId": accepted.lead_id, "timestamp": accepted.timestamp, "status": accepted.status}
    return answer, (201 if accepted.status == "received" else 202)


@blp.route("/admin/health")
@admin_only
@blp.response(200, AdminHealthSchema)
def admin_health():
    """Scheduler, its jobs, and whether lead e-mails can go out (smtp_configured, pending)."""
    return {"status": "ok", **services.scheduler_view(), "emails": services.email_health()}


@blp.route("/admin/leads")
@admin_only
@blp.arguments(LeadListQuerySchema, location="query")
@blp.response(200, LeadPageSchema)
def list_leads(query):
    """Leads, newest first; `status_filter` keeps one status."""
    total, leads = services.list_leads(query["limit"], query["offset"], query.get("status_filter"))
    return {"total": total, "limit": query["limit"], "offset": query["offset"], "leads": leads}


@blp.route("/admin/leads/<lead_id>")
@admin_only
@blp.response(200, LeadDetailSchema)
@blp.alt_response(404, schema=DetailSchema, description="Lead not found")
def lead_detail(lead_id):
    """One lead with its meta and its audit trail."""
    lead = services.find_lead(lead_id)
    if lead is None:
        raise lead_not_found()
    return services.lead_detail(lead)


@blp.route("/admin/leads/<lead_id>/status", methods=["PATCH"])
@admin_only
@blp.arguments(StatusQuerySchema, location="query")
@blp.response(200, StatusChangedSchema)
@blp.alt_response(400, schema=DetailSchema, description="Not one of " + ", ".join(LEAD_STATUSES))
@blp.alt_response(404, schema=DetailSchema, description="Lead not found")
def change_status(query, lead_id):
    """Move a lead to received, processing, resolved or archived, in any case (audited)."""
    new_status = canonical_status(query["new_status"])
    lead = services.find_lead(lead_id)
    if lead is None:
        raise lead_not_found()
    return services.change_status(lead, new_status, actor())


@blp.route("/admin/queue/stats")
@admin_only
@blp.response(200, QueueStatsSchema)
def queue_stats():
    """Leads waiting in the fallback queue, by failed attempts ("3" = dead), and the lead e-mails."""
    return {**fallback.stats(), "emails": services.email_health()}


@blp.route("/admin/queue/flush", methods=["POST"])
@admin_only
@blp.response(200, FlushResultSchema)
def flush_queue():
    """Write the due queued leads to the database now (the scheduler does it every 5 minutes)."""
    return {"status": "flush_triggered", **fallback.flush().as_dict()}


@blp.route("/admin/queue/replay", methods=["POST"])
@admin_only
@blp.response(200, QueueReplayedSchema)
def replay_queue():
    """Give dead queued leads a fresh set of attempts; the next flush writes them (audited)."""
    return {"status": "success", "replayed": fallback.replay(actor())}


@blp.route("/admin/queue/clear", methods=["DELETE"])
@admin_only
@blp.response(200, QueueClearedSchema)
def clear_queue():
    """Delete every queued lead, dead or not: they are lost (audited with their ids)."""
    fallback.clear(actor())
    return {"status": "success", "message": "Queue has been cleared"}


@blp.route("/admin/scheduler/jobs")
@admin_only
@blp.response(200, SchedulerJobsSchema)
def scheduler_jobs():
    """The hub's periodic jobs (the lead flush among them) and whether a scheduler is running."""
    return services.scheduler_view()
