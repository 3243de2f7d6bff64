"""Reading the audit log: filtered, newest first, a page at a time by keyset on (created_at, id).

The console's audit page and its CSV export read through here. No OFFSET and no count of the whole log:
a page is one indexed range read (`ix_audit_log_created`, or `ix_audit_log_actor_created` when the actor
is given), so it costs the same on page 1 and page 1000 of a log of any size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, literal, select, tuple_

from modules.core.exceptions import Invalid
from modules.core.extensions import db
from modules.core.models import AuditEntry, Operator
from modules.core.sql import LIKE_ESCAPE, prefix_pattern

PAGE_SIZE = 50
EXPORT_CHUNK = 500  # rows read per statement while a CSV export streams
MAX_ID = 2**63 - 1  # an entry id a cursor may name (the largest integer both databases bind)
PREFIX_ENDS = (".", "*")  # an action ending so is a prefix: `outbox.` (or `outbox.*`) is every outbox event


@dataclass(frozen=True)
class AuditFilter:
    """What the reader asked for; every field is optional (None: no condition). `since` is inclusive,
    `until` exclusive (both UTC)."""

    actor: str | None = None
    subject_id: str | None = None
    action: str | None = None
    domain: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditRow:
    """One entry as the page shows it: the entry, and its actor's e-mail when the actor is an operator."""

    entry: AuditEntry
    operator_email: str | None

    @property
    def details_json(self) -> str:
        """The details as compact JSON, keys sorted."""
        return json.dumps(self.entry.details or {}, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    older: str | None  # the cursor of the next (older) page, None on the last page


def parse_time(text: str | None, label: str) -> datetime | None:
    """An ISO 8601 time (`2026-11-30T17:45`, seconds and an offset optional; no offset is UTC) as aware
    UTC, None for blank; `Invalid` naming `label` otherwise."""
    if not text or not text.strip():
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as error:
        raise Invalid(f"{label}: {text!r} is not a time like 2026-11-30T17:45 (UTC).") from error
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError as error:
        raise Invalid(f"{label}: {text!r} is out of range.") from error


def cursor_of(entry: AuditEntry) -> str:
    """The keyset cursor just past `entry`: `<created_at ISO>_<id>`."""
    return f"{entry.created_at.astimezone(UTC).isoformat()}_{entry.id}"


def parse_cursor(cursor: str) -> tuple[datetime, int]:
    """(created_at, id) of a cursor made by `cursor_of`; `Invalid` for anything else."""
    moment, _, entry_id = cursor.rpartition("_")
    try:
        created_at = datetime.fromisoformat(moment)
        if created_at.tzinfo is None or not entry_id.isdigit() or int(entry_id) > MAX_ID:
            raise ValueError(cursor)
        return created_at.astimezone(UTC), int(entry_id)
    except (ValueError, OverflowError) as error:
        raise Invalid("This page link is broken (its cursor is not one the console made).") from error


def _check(chosen: AuditFilter) -> None:
    """`Invalid` for a filter no database can compare (PostgreSQL refuses NUL in text)."""
    for value in (chosen.actor, chosen.subject_id, chosen.action, chosen.domain):
        if value and "\x00" in value:
            raise Invalid("A filter must not contain NUL (0x00) characters.")


def _query(chosen: AuditFilter) -> Select:
    query = select(AuditEntry)
    if chosen.actor:
        query = query.where(AuditEntry.actor == chosen.actor)
    if chosen.subject_id:
        query = query.where(AuditEntry.subject_id == chosen.subject_id)
    if chosen.domain:
        query = query.where(AuditEntry.domain == chosen.domain)
    if chosen.action:
        if chosen.action.endswith(PREFIX_ENDS):
            pattern = prefix_pattern(chosen.action.rstrip("*"))
            query = query.where(AuditEntry.event.like(pattern, escape=LIKE_ESCAPE))
        else:
            query = query.where(AuditEntry.event == chosen.action)
    if chosen.since:
        query = query.where(AuditEntry.created_at >= chosen.since)
    if chosen.until:
        query = query.where(AuditEntry.created_at < chosen.until)
    return query.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def _entries(chosen: AuditFilter, after: tuple[datetime, int] | None, limit: int) -> list[AuditEntry]:
    query = _query(chosen)
    if after is not None:
        created_at, entry_id = after
        query = query.where(tuple_(AuditEntry.created_at, AuditEntry.id)
                            < tuple_(literal(created_at, AuditEntry.created_at.type), literal(entry_id)))
    return list(db.session.scalars(query.limit(limit)))


def _with_emails(entries: list[AuditEntry]) -> list[AuditRow]:
    """Each entry with its operator actor's e-mail (one query for the whole page)."""
    ids = {entry.actor.removeprefix("operator:") for entry in entries
           if entry.actor and entry.actor.startswith("operator:")}
    emails: dict[str, str] = {}
    if ids:
        emails = {row.id: row.email for row in db.session.execute(select(Operator.id, Operator.email)
                                                                  .where(Operator.id.in_(ids)))}
    return [AuditRow(entry, emails.get((entry.actor or "").removeprefix("operator:"))
                     if (entry.actor or "").startswith("operator:") else None) for entry in entries]


def page(chosen: AuditFilter, after: str | None = None, size: int = PAGE_SIZE) -> AuditPage:
    """The `size` newest entries matching `chosen` older than the cursor `after` (None: the newest);
    `Invalid` for a broken cursor or filter. Reads one row more than shown to know whether an older page
    exists."""
    _check(chosen)
    entries = _entries(chosen, parse_cursor(after) if after else None, size + 1)
    older = cursor_of(entries[size - 1]) if len(entries) > size else None
    return AuditPage(_with_emails(entries[:size]), older)


def every_row(chosen: AuditFilter) -> Iterator[AuditRow]:
    """Every entry matching `chosen`, newest first, read EXPORT_CHUNK rows per statement (for a streamed
    export: memory stays flat whatever the log's size). `Invalid` for a broken filter, at once (before the
    first row is asked for, so before an answer starts streaming)."""
    _check(chosen)
    return _chunks(chosen)


def _chunks(chosen: AuditFilter) -> Iterator[AuditRow]:
    after: tuple[datetime, int] | None = None
    while True:
        entries = _entries(chosen, after, EXPORT_CHUNK)
        yield from _with_emails(entries)
        if len(entries) < EXPORT_CHUNK:
            return
        after = (entries[-1].created_at, entries[-1].id)


def operator_choices() -> list[tuple[str, str]]:
    """(actor, e-mail) of every operator, by e-mail: the page's "operator" select."""
    return [(f"operator:{row.id}", row.email)
            for row in db.session.execute(select(Operator.id, Operator.email).order_by(Operator.email))]
