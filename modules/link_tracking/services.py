"""Tracked links: create, list, update, deactivate, and the click recorded by a redirect."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from modules.core import audit
from modules.core.extensions import db
from modules.core.types import utcnow
from modules.link_tracking.models import LinkClick, TrackedLink

DOMAIN = "link_tracking"
REDIRECT_CLICK_SOURCE = "redirect"


class TrackingIdTaken(Exception):
    """A link with the requested tracking_id already exists."""


def new_tracking_id() -> str:
    return "lt_" + secrets.token_urlsafe(12)


def _storable_id(tracking_id: str) -> bool:
    """Ids from a URL path may hold anything; only those the tables can hold are looked up."""
    return 0 < len(tracking_id) <= 100 and "\x00" not in tracking_id


def find_link(tracking_id: str) -> TrackedLink | None:
    return db.session.get(TrackedLink, tracking_id) if _storable_id(tracking_id) else None


def create_link(fields: dict[str, Any], actor: str) -> TrackedLink:
    tracking_id = fields.pop("tracking_id", None) or new_tracking_id()
    if db.session.get(TrackedLink, tracking_id) is not None:
        raise TrackingIdTaken(tracking_id)
    link = TrackedLink(tracking_id=tracking_id, is_active=True, auto_registered=False, **fields)
    db.session.add(link)
    audit.record(DOMAIN, "link.created", actor=actor, subject_id=tracking_id)
    try:
        db.session.commit()
    except IntegrityError as error:  # registered by a concurrent request or click batch
        db.session.rollback()
        raise TrackingIdTaken(tracking_id) from error
    return link


def update_link(link: TrackedLink, changes: dict[str, Any], actor: str) -> TrackedLink:
    for name, value in changes.items():
        setattr(link, name, value)
    audit.record(DOMAIN, "link.updated", actor=actor, subject_id=link.tracking_id,
                 details={"fields": sorted(changes)})
    db.session.commit()
    return link


def deactivate_link(link: TrackedLink, actor: str) -> TrackedLink:
    """Links are never deleted: their clicks stay countable. A deactivated link answers 404."""
    link.is_active = False
    audit.record(DOMAIN, "link.deactivated", actor=actor, subject_id=link.tracking_id)
    db.session.commit()
    return link


def list_links(link_function: str | None = None, link_type: str | None = None, active: bool | None = None,
               limit: int = 50, offset: int = 0) -> tuple[int, list[TrackedLink]]:
    """Newest first, with the total that matches the filters."""
    query = select(TrackedLink)
    if link_function is not None:
        query = query.where(TrackedLink.link_function == link_function)
    if link_type is not None:
        query = query.where(TrackedLink.link_type == link_type)
    if active is not None:
        query = query.where(TrackedLink.is_active.is_(active))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = db.session.scalars(query.order_by(TrackedLink.created_at.desc(), TrackedLink.tracking_id)
                              .limit(limit).offset(offset)).all()
    return total, list(page)


def redirect_destination(tracking_id: str) -> str | None:
    """Where an active link points; None for unknown, inactive or auto-registered (no destination) ids."""
    link = find_link(tracking_id)
    if link is None or not link.is_active or not link.original_url:
        return None
    return link.original_url


def record_redirect_click(tracking_id: str, *, ip_address: str | None, user_agent: str | None,
                          referrer_url: str | None, session_id: str, click_source: str | None) -> None:
    now = utcnow()
    db.session.add(LinkClick(click_id=str(uuid.uuid4()), tracking_id=tracking_id, clicked_at=now,
                             received_at=now, ip_address=ip_address, user_agent=user_agent,
                             referrer_url=referrer_url, session_id=session_id,
                             click_source=click_source or REDIRECT_CLICK_SOURCE))
    db.session.commit()
