"""The admin API (/admin/*): leads, their status, the fallback queue, the scheduler's jobs."""

from __future__ import annotations

from modules.core.access import actor
from modules.core.schemas import DetailSchema
from modules.fastcore import fallback, services
from modules.fastcore.access import admin
from modules.fastcore.models import LEAD_STATUSES
from modules.fastcore.routes.blueprint import blp
from modules.fastcore.schemas import (
    AdminHealthSchema,
    FlushResultSchema,
    LeadDetailSchema,
    LeadListQuerySchema,
    LeadPageSchema,
    QueueClearedSchema,
    QueueReplayedSchema,
    QueueStatsSchema,
    SchedulerJobsSchema,
    StatusChangedSchema,
    StatusQuerySchema,
)


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
