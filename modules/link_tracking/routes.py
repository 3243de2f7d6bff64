"""The link tracking API: what trackers call with their key (click ingest at /api/tracking-ingest, the
/track redirect) and what operators call (tracked links and analytics at /api/link-tracking).

Thin views, and the blueprint's one answer to the refusals of the domain's services."""

from __future__ import annotations

import re
import secrets

from flask import Response, current_app, redirect, request
from flask_smorest import Blueprint
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from modules import __version__
from modules.core import live, security
from modules.core.errors import answer_domain_errors, handle_api_error
from modules.core.extensions import db
from modules.core.security import ingest_limit
from modules.core.sql import probe_database
from modules.core.types import isoformat, utcnow
from modules.link_tracking import analytics, ingest, services
from modules.link_tracking.access import operator_token, tracker_key
from modules.link_tracking.errors import answer, fail
from modules.link_tracking.schemas import (
    ClickAnalyticsQuerySchema,
    ClickAnalyticsSchema,
    ClickBatchRequestSchema,
    ClickBatchResponseSchema,
    TrackedLinkCreateSchema,
    TrackedLinkPageSchema,
    TrackedLinkQuerySchema,
    TrackedLinkSchema,
    TrackedLinkUpdateSchema,
    TrackingConnectionTestSchema,
    TrackingErrorSchema,
    TrackingHealthSchema,
)

blp = Blueprint("link_tracking", __name__, description="Link tracking: click ingest, tracked links, analytics")

PATH_PREFIXES = ("/api/tracking-ingest", "/api/link-tracking", "/track/")

answer_domain_errors(blp, answer)


@blp.errorhandler(RecursionError)
def too_deeply_nested(_error: RecursionError):
    """webargs' JSON parsing of a body nested thousands of levels deep raises RecursionError (a 500 in
    the core's handler); for this blueprint's views it is what it is: a bad body."""
    return handle_api_error(fail(400, "The JSON body is nested too deeply"))


SESSION_COOKIE = "lt_session"
CLICK_SCOPE = "link_tracking.clicks"
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,100}$")
NOT_FOUND_PAGE = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>Link not found</title></head>"
                  "<body><h1>Link not found</h1><p>This link does not exist or is no longer active.</p>"
                  "</body></html>")


@blp.route("/api/tracking-ingest/health")
@blp.response(200, TrackingHealthSchema)
@blp.alt_response(503, schema=TrackingHealthSchema, description="The database is unreachable")
def ingest_health():
    """Whether the ingest API can store clicks (no key needed)."""
    try:
        probe_database()
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "unavailable"
    body = {"status": "healthy" if database == "ok" else "unhealthy", "service": "tracking_ingest_api",
            "version": __version__, "timestamp": isoformat(utcnow()), "database": database}
    return body, 200 if database == "ok" else 503


@blp.route("/api/tracking-ingest/test", methods=["POST"])
@tracker_key
@blp.response(200, TrackingConnectionTestSchema)
def ingest_test():
    """Check the API key and the connection."""
    return {"success": True, "message": "API connection successful", "authenticated": True,
            "timestamp": isoformat(utcnow())}


def _batch_body() -> bytes:
    """The raw body, read only after the key was checked, within the ingest's own byte limit."""
    if not request.is_json:
        raise fail(400, ingest.NOT_JSON)
    limit = current_app.config["TRACKING_MAX_BODY_BYTES"]
    request.max_content_length = limit
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge as error:
        raise fail(413, f"Request body too large (max {limit} bytes)") from error


@blp.route("/api/tracking-ingest/batch", methods=["POST"])
@tracker_key
@ingest_limit("TRACKING_RATE_LIMIT")
@blp.response(200, ClickBatchResponseSchema, description="Every event stored (or already stored)")
@blp.alt_response(207, schema=ClickBatchResponseSchema, description="Valid events of which some could not be stored")
@blp.alt_response(400, schema=TrackingErrorSchema, description="Not a batch, or an event broke a rule: nothing stored")
@blp.alt_response(413, schema=TrackingErrorSchema, description="Body over TRACKING_MAX_BODY_BYTES")
@blp.alt_response(429, schema=TrackingErrorSchema, description="Over TRACKING_RATE_LIMIT for this key; see Retry-After")
@blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": ClickBatchRequestSchema}}})
def ingest_batch():
    """Store a batch of 1 to 1,000 click events, all or nothing.

    Events whose `event_id` is already stored count as successful and are not stored twice, so a
    batch may be retried safely."""
    result = ingest.ingest_batch(_batch_body(), utcnow())
    body = {"success": result.failed == 0, "message": f"Processed {result.total_events} events",
            "results": vars(result), "timestamp": isoformat(utcnow())}
    if result.failed:
        body["warning"] = f"{result.failed} events failed to process"
        return body, 207
    return body


def _header_text(value: str | None, limit: int) -> str | None:
    """Header and query text as the click columns can hold it."""
    cleaned = (value or "").replace("\x00", "")[:limit]
    return cleaned or None


def _click_counted() -> bool:
    """Whether this address is within TRACK_CLICK_RATE_LIMIT. Past it the visitor is still redirected, but
    no click is stored: one client cannot grow the clicks table or the analytics without bound."""
    return security.count("TRACK_CLICK_RATE_LIMIT", CLICK_SCOPE, security.address_identity()) is None


def _not_found(error: services.NoRedirect) -> Response:
    """Browsers get a page; API clients get the domain's JSON error."""
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return Response(NOT_FOUND_PAGE, 404, mimetype="text/html")
    raise error


def _redirect(location: str) -> Response:
    response = redirect(location, 302)
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route("/track/<string:tracking_id>")
@blp.doc(responses={"302": {"description": "Redirect to the link's original_url; the click is recorded"},
                    "404": {"description": "Unknown or inactive link, or a destination that cannot be sent"}})
def follow_link(tracking_id: str):
    """Record a click and redirect to the link's destination. `?src=` names the click source.

    HEAD (link previewers, uptime checks) gets the same answer but records no click and sets no cookie."""
    try:
        location = services.redirect_location(tracking_id)
    except services.NoRedirect as error:
        return _not_found(error)
    if request.method == "HEAD" or not _click_counted():
        return _redirect(location)
    session_id = request.cookies.get(SESSION_COOKIE, "")
    new_session = not _SESSION_ID.match(session_id)
    if new_session:
        session_id = secrets.token_urlsafe(24)
    services.record_redirect_click(
        tracking_id, ip_address=_header_text(request.remote_addr, 45),
        user_agent=_header_text(request.headers.get("User-Agent"), 500),
        referrer_url=_header_text(request.headers.get("Referer"), 1000), session_id=session_id,
        click_source=_header_text(request.args.get("src"), 50))
    live.publish("records", {"domain": blp.name})  # a GET that stores: the after-request hook counts writes only
    response = _redirect(location)
    if new_session:
        response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="Lax", secure=request.is_secure)
    return response


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
