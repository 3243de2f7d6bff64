"""Leads as the console lists them: filtered by status and service, searched by name, e-mail or company, a
keyset page at a time newest first (or every match, for a CSV); and a lead's e-mails with their delivery.

The search is bounded: it looks through the newest SEARCH_SCAN leads of the status and service filters
(read from the created_at index), never the whole table, so a search costs the same on a table of any size.
A lead older than that is found by its page (`/console/leads/<id>`) or the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from modules.core import outbox
from modules.core.exceptions import Invalid
from modules.core.paging import every_newest, newest_page
from modules.core.sql import LIKE_ESCAPE, contains_pattern
from modules.fastcore.jobs import EMAIL_KINDS
from modules.fastcore.models import SERVICES, Lead
from modules.fastcore.services import canonical_status

SEARCH_SCAN = 10_000
SEARCH_MAX_LENGTH = 200


@dataclass(frozen=True)
class LeadFilter:
    """Which leads a list shows: every filter given must hold. `search` matches part of the name, the e-mail
    or the company, in any case."""

    status: str | None = None
    service: str | None = None
    search: str | None = None

    @classmethod
    def given(cls, status: str | None, service: str | None, search: str | None) -> LeadFilter:
        """The filter from the console's form (blank = not given); raises `Invalid` naming the bad value."""
        status, service, search = ((value or "").strip() or None for value in (status, service, search))
        if status:
            status = canonical_status(status)
        if service and service.lower() not in SERVICES:
            raise Invalid(f"service must be one of: {', '.join(SERVICES)}")
        if search and len(search) > SEARCH_MAX_LENGTH:
            raise Invalid(f"the search is longer than {SEARCH_MAX_LENGTH} characters")
        return cls(status, service.lower() if service else None, search)

    def conditions(self) -> list[ColumnElement[bool]]:
        found = []
        if self.status:
            found.append(Lead.status == self.status)
        if self.service:
            found.append(Lead.service == self.service)
        return found

    def query(self) -> Select:
        query = select(Lead).where(*self.conditions())
        if not self.search:
            return query
        window = (select(Lead.id).where(*self.conditions()).order_by(Lead.created_at.desc(), Lead.id.desc())
                  .limit(SEARCH_SCAN))
        pattern = contains_pattern(self.search)
        return query.where(Lead.id.in_(window), or_(*(column.ilike(pattern, escape=LIKE_ESCAPE)
                                                      for column in (Lead.name, Lead.email, Lead.company))))


def newest_leads(matching: LeadFilter, limit: int, after: str | None = None) -> tuple[list[Lead], str | None]:
    """(a keyset page of the matching leads, newest first; the next page's cursor or None). Raises `Invalid`
    for a cursor the list did not give."""
    return newest_page(matching.query(), Lead.created_at, Lead.id, limit, after)


def every_lead(matching: LeadFilter) -> Iterator[Lead]:
    """Every matching lead, newest first, read in batches: for an export."""
    return every_newest(matching.query(), Lead.created_at, Lead.id)


def emails_of(lead_id: str) -> list[dict[str, Any]]:
    """The lead's e-mails (welcome, admin alert) as outbox messages, oldest first, each with its destination
    and every delivery attempt (`outbox.trace`)."""
    return [message for message in outbox.trace(lead_id)[1] if message["kind"] in EMAIL_KINDS]
