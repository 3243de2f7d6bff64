"""POST /inbound/leads: the site's contact-form leads."""

from __future__ import annotations

from modules.core.access import actor
from modules.core.schemas import DetailSchema
from modules.core.security import ingest_limit
from modules.fastcore import services
from modules.fastcore.access import site_token
from modules.fastcore.routes.blueprint import blp
from modules.fastcore.schemas import DuplicateSchema, LeadAcceptedSchema, LeadInSchema


@blp.route("/inbound/leads", methods=["POST"])
@site_token
@ingest_limit()
@blp.arguments(LeadInSchema)
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
