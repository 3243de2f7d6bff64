"""Tracked links and their analytics (/api/link-tracking): operators only (a bearer token); the trackers'
API key only ingests clicks (clicks.py)."""

from __future__ import annotations

from modules.link_tracking import analytics, services
from modules.link_tracking.access import operator_token
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

LINK = "/api/link-tracking/links/<string:tracking_id>"


@blp.route("/api/link-tracking/links", methods=["POST"])
@operator_token
@blp.arguments(TrackedLinkCreateSchema)
@blp.response(201, TrackedLinkSchema)
@blp.alt_response(400, schema=TrackingErrorSchema, description="A field is invalid (e.g. not an http(s) URL)")
@blp.alt_response(409, schema=TrackingErrorSchema, description="The requested tracking_id exists")
def create_link(fields):
    """Create a tracked link; share its `tracking_url`."""
    return services.create_link(fields)


@blp.route("/api/link-tracking/links")
@operator_token
@blp.arguments(TrackedLinkQuerySchema, location="query")
@blp.response(200, TrackedLinkPageSchema)
def list_links(query):
    """Links, newest first, filtered by link_function, link_type and active."""
    total, links = services.list_links(query.get("link_function"), query.get("link_type"), query.get("active"),
                                       query["limit"], query["offset"])
    return {"total": total, "limit": query["limit"], "offset": query["offset"], "links": links}


@blp.route(LINK)
@operator_token
@blp.response(200, TrackedLinkSchema)
@blp.alt_response(404, schema=TrackingErrorSchema)
def get_link(tracking_id):
    """One link, active or not (auto-registered ids too)."""
    return services.get_link(tracking_id)


@blp.route(LINK, methods=["PATCH"])
@operator_token
@blp.arguments(TrackedLinkUpdateSchema)
@blp.response(200, TrackedLinkSchema)
@blp.alt_response(400, schema=TrackingErrorSchema)
@blp.alt_response(404, schema=TrackingErrorSchema)
def update_link(changes, tracking_id):
    """Change some fields; `is_active: true` reactivates, and an original_url makes an auto-registered id
    redirect."""
    return services.update_link(tracking_id, changes)


@blp.route(LINK, methods=["DELETE"])
@operator_token
@blp.response(200, TrackedLinkSchema)
@blp.alt_response(404, schema=TrackingErrorSchema)
def deactivate_link(tracking_id):
    """Deactivate: /track answers 404 from now on; the link and its clicks are kept."""
    return services.deactivate_link(tracking_id)


@blp.route(LINK + "/analytics")
@operator_token
@blp.arguments(ClickAnalyticsQuerySchema, location="query")
@blp.response(200, ClickAnalyticsSchema)
@blp.alt_response(404, schema=TrackingErrorSchema)
def link_analytics(query, tracking_id):
    """One link's clicks over the last `days` days: by day, by source, unique sessions, first and last."""
    return analytics.link_analytics(tracking_id, query["days"])


@blp.route("/api/link-tracking/analytics")
@operator_token
@blp.arguments(ClickAnalyticsQuerySchema, location="query")
@blp.response(200, ClickAnalyticsSchema)
def overall_analytics(query):
    """Every link's clicks over the last `days` days, with the top 10 links."""
    return analytics.click_analytics(query["days"])
