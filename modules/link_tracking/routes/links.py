"""Tracked links and their analytics (/api/link-tracking): operators only (a bearer token); the trackers'
API key only ingests clicks (routes.py)."""

from __future__ import annotations

from modules.link_tracking import analytics, services
from modules.link_tracking.access import actor, fail, operator_required
from modules.link_tracking.models import TrackedLink
from modules.link_tracking.routes.blueprint import blp
from modules.link_tracking.schemas import (
    ClickAnalyticsQuerySchema,
    ClickAnalyticsSchema,
    TrackedLinkCreateSchema,
    TrackedLinkPageSchema,
    TrackedLinkQuerySchema,
    TrackedLinkSchema,
    TrackedLinkUpdateSchema,
    TrackingErrorSchema,
)

SECURITY = [{"operatorBearer": []}]
LINK = "/api/link-tracking/links/<string:tracking_id>"


def _link_or_404(tracking_id: str) -> TrackedLink:
    link = services.find_link(tracking_id)
    if link is None:
        raise fail(404, "Tracking link not found")
    return link


@blp.route("/api/link-tracking/links", methods=["POST"])
@operator_required
@blp.arguments(TrackedLinkCreateSchema)
@blp.response(201, TrackedLinkSchema)
@blp.alt_response(400, schema=TrackingErrorSchema, description="A field is invalid (e.g. not an http(s) URL)")
@blp.alt_response(401, schema=TrackingErrorSchema, description="No valid operator bearer token")
@blp.alt_response(409, schema=TrackingErrorSchema, description="The requested tracking_id exists")
@blp.doc(security=SECURITY)
def create_link(fields):
    """Create a tracked link; share its `tracking_url`."""
    try:
        return services.create_link(fields, actor())
    except services.TrackingIdTaken as error:
        raise fail(409, "A link with this tracking_id already exists") from error


@blp.route("/api/link-tracking/links")
@operator_required
@blp.arguments(TrackedLinkQuerySchema, location="query")
@blp.response(200, TrackedLinkPageSchema)
@blp.alt_response(401, schema=TrackingErrorSchema, description="No valid operator bearer token")
@blp.doc(security=SECURITY)
def list_links(query):
    """Links, newest first, filtered by link_function, link_type and active."""
    total, links = services.list_links(query.get("link_function"), query.get("link_type"), query.get("active"),
                                       query["limit"], query["offset"])
    return {"total": total, "limit": query["limit"], "offset": query["offset"], "links": links}


@blp.route(LINK)
@operator_required
@blp.response(200, TrackedLinkSchema)
@blp.alt_response(401, schema=TrackingErrorSchema, description="No valid operator bearer token")
@blp.alt_response(404, schema=TrackingErrorSchema)
@blp.doc(security=SECURITY)
def get_link(tracking_id):
    """One link, active or not (auto-registered ids too)."""
    return _link_or_404(tracking_id)


@blp.route(LINK, methods=["PATCH"])
@operator_required
@blp.arguments(TrackedLinkUpdateSchema)
@blp.response(200, TrackedLinkSchema)
@blp.alt_response(400, schema=TrackingErrorSchema)
@blp.alt_response(401, schema=TrackingErrorSchema, description="No valid operator bearer token")
@blp.alt_response(404, schema=TrackingErrorSchema)
@blp.doc(security=SECURITY)
def update_link(changes, tracking_id):
    """Change some fields; `is_active: true` reactivates, and an original_url makes an auto-registered id
    redirect."""
    return services.update_link(_link_or_404(tracking_id), changes, actor())


@blp.route(LINK, methods=["DELETE"])
@operator_required
@blp.response(200, TrackedLinkSchema)
@blp.alt_response(401, schema=TrackingErrorSchema, description="No valid operator bearer token")
@blp.alt_response(404, schema=TrackingErrorSchema)
@blp.doc(security=SECURITY)
def deactivate_link(tracking_id):
    """Deactivate: /track answers 404 from now on; the link and its clicks are kept."""
    return services.deactivate_link(_link_or_404(tracking_id), actor())


@blp.route(LINK + "/analytics")
@operator_required
@blp.arguments(ClickAnalyticsQuerySchema, location="query")
@blp.response(200, ClickAnalyticsSchema)
@blp.alt_response(401, schema=TrackingErrorSchema, description="No valid operator bearer token")
@blp.alt_response(404, schema=TrackingErrorSchema)
@blp.doc(security=SECURITY)
def link_analytics(query, tracking_id):
    """One link's clicks over the last `days` days: by day, by source, unique sessions, first and last."""
    link = _link_or_404(tracking_id)
    return analytics.click_analytics(query["days"], link.tracking_id)


@blp.route("/api/link-tracking/analytics")
@operator_required
@blp.arguments(ClickAnalyticsQuerySchema, location="query")
@blp.response(200, ClickAnalyticsSchema)
@blp.alt_response(401, schema=TrackingErrorSchema, description="No valid operator bearer token")
@blp.doc(security=SECURITY)
def overall_analytics(query):
    """Every link's clicks over the last `days` days, with the top 10 links."""
    return analytics.click_analytics(query["days"])
