"""Tracked links: create, list, update, deactivate, and where a redirect goes (recording its click).

Refusals are the core's domain exceptions (`NotFound`, `Conflict`); the audit actor is the request's
(`modules.core.access.actor`).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from modules.core import audit, metrics
from modules.core.access import actor
from modules.core.exceptions import Conflict, NotFound
from modules.core.extensions import db
from modules.core.paging import page
from modules.core.types import utcnow
from modules.link_tracking import destinations, ingest, storage
from modules.link_tracking.models import LinkClick, TrackedLink

DOMAIN = "link_tracking"
REDIRECT_CLICK_SOURCE = "redirect"

log = logging.getLogger(__name__)


class TrackingIdTaken(Conflict):
    """A link with the requested tracking_id already exists."""

    def __init__(self) -> None:
        super().__init__("A link with this tracking_id already exists")


class NoRedirect(NotFound):
    """/track has nowhere to send the visitor: an unknown, inactive or auto-registered id, or a destination
    stored before destinations were checked as they are now."""


def new_tracking_id() -> str:
    return "lt_" + secrets.token_urlsafe(12)


def _storable_id(tracking_id: str) -> bool:
    """Ids from a URL path may hold anything; only those the tables can hold are looked up."""
    return 0 < len(tracking_id) <= 100 and "\x00" not in tracking_id


def find_link(tracking_id: str) -> TrackedLink | None:
    return db.session.get(TrackedLink, tracking_id) if _storable_id(tracking_id) else None


def get_link(tracking_id: str) -> TrackedLink:
    """The link, active or not (auto-registered ids too); NotFound when there is none."""
    link = find_link(tracking_id)
    if link is None:
        raise NotFound("Tracking link not found")
    return link


def create_link(fields: dict[str, Any]) -> TrackedLink:
    """A new active link; `fields` may name its `tracking_id` (TrackingIdTaken when it exists)."""
    tracking_id = fields.pop("tracking_id", None) or new_tracking_id()
    if db.session.get(TrackedLink, tracking_id) is not None:
        raise TrackingIdTaken
    link = TrackedLink(tracking_id=tracking_id, is_active=True, auto_registered=False, **fields)
    db.session.add(link)
    audit.record(DOMAIN, "link.created", actor=actor(), subject_id=tracking_id)
    try:
        db.session.commit()
    except IntegrityError as error:  # registered by a concurrent request or click batch
        db.session.rollback()
        raise TrackingIdTaken from error
    return link


def update_link(tracking_id: str, changes: dict[str, Any]) -> TrackedLink:
    link = get_link(tracking_id)
    for name, value in changes.items():
        setattr(link, name, value)
    audit.record(DOMAIN, "link.updated", actor=actor(), subject_id=link.tracking_id,
                 details={"fields": sorted(changes)})
    db.session.commit()
    return link


def deactivate_link(tracking_id: str) -> TrackedLink:
    """Links are never deleted: their clicks stay countable. A deactivated link answers 404."""
    link = get_link(tracking_id)
    link.is_active = False
    audit.record(DOMAIN, "link.deactivated", actor=actor(), subject_id=link.tracking_id)
    db.session.commit()
    return link


def list_links(link_function: str | None = None, link_type: str | None = None, active: bool | None = None,
               limit: int = 50, offset: int = 0, search: str | None = None) -> tuple[int, list[TrackedLink]]:
    """(how many links match the filters, this page of them newest first). `search` keeps the links whose
    tracking_id, destination or description contains it, case-insensitively (`%` and `_` match themselves)."""
    query = select(TrackedLink)
    if search:
        query = query.where(or_(*(column.icontains(search, autoescape=True) for column in
                                  (TrackedLink.tracking_id, TrackedLink.original_url, TrackedLink.description))))
    if link_function is not None:
        query = query.where(TrackedLink.link_function == link_function)
    if link_type is not None:
        query = query.where(TrackedLink.link_type == link_type)
    if active is not None:
        query = query.where(TrackedLink.is_active.is_(active))
    return page(query, limit, offset, TrackedLink.created_at.desc(), TrackedLink.tracking_id)


def redirect_location(tracking_id: str) -> str:
    """The `Location` that sends a visitor to an active link's destination; NoRedirect when there is none."""
    original_url = storage.active_destination(tracking_id) if _storable_id(tracking_id) else None
    if not original_url:
        raise NoRedirect("Unknown or inactive tracking link")
    try:
        return destinations.location_for(original_url)
    except destinations.UnusableDestination as error:
        log.warning("tracked link has an unusable destination", extra={"tracking_id": tracking_id})
        raise NoRedirect("The link's destination cannot be used; its owner must change it") from error


def record_redirect_click(tracking_id: str, *, ip_address: str | None, user_agent: str | None,
                          referrer_url: str | None, session_id: str, click_source: str | None) -> None:
    """Store the redirect's click the way batches are stored (storage.store_rows), so it counts in the rollup."""
    now = utcnow()
    storage.store_rows([{"click_id": str(uuid.uuid4()), "tracking_id": tracking_id, "clicked_at": now,
                         "received_at": now, "ip_address": ip_address, "user_agent": user_agent,
                         "referrer_url": referrer_url, "session_id": session_id,
                         "click_source": click_source or REDIRECT_CLICK_SOURCE, "metadata": None,
                         "event_id": None}], now)
    metrics.ingested(DOMAIN)


def clicks_received(since: datetime) -> int:
    """Clicks since `since` (the console's overview), by `clicked_at`: the partition key on PostgreSQL. The
    window ends where the ingest's clock-ahead limit does, so only the partitions of the window are read (not
    the months created ahead), each through its clicked_at index."""
    window = LinkClick.clicked_at.between(since, utcnow() + ingest.MAX_CLOCK_AHEAD)
    return db.session.scalar(select(func.count()).select_from(LinkClick).where(window))
