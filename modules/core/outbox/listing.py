"""Listing messages newest first, filtered, one keyset page at a time: the console's Deliveries page, its
CSV export and `GET /api/admin/outbox` read them here.

A page is `ORDER BY created_at DESC, id DESC LIMIT n+1` below the last row of the page before (the cursor,
an opaque string of that row's (created_at, id)): no OFFSET and no COUNT of the whole filter, so every
page costs the same, read from the indexes (created_at, id), (status, created_at, id) and
(kind, created_at, id). A destination of several kinds is read as one such scan per kind, merged.

**Idempotency keys.** A key names the messages the peer saw it on, by how each handler builds it:
- the dashboard (`sentratech.dashboard_sync`) gets `<record id>:<revision>`: the key names every message
  about that record (the revision is the record's at the time of sending, not the message's);
- e-mails carry the Message-ID `<<message id>.<tag>@<domain>>`: the key (with or without its angle
  brackets) names that message;
- other HTTP peers get the message id (the core's test webhook), and peers without a key (Arkesel, DTech
  uploads) are told the record's id (the SMS, the recording): a key names the message with that id, or
  the messages about the record with that id.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select, tuple_, union_all

from modules.core.exceptions import Invalid
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.outbox.destinations import kinds_of
from modules.core.outbox.handlers import Status
from modules.core.outbox.replaying import MAX_IDS, REPLAYABLE, Selection, check_window
from modules.core.paging import page as offset_page
from modules.core.types import isoformat

STATUSES = tuple(status.value for status in Status)
EXPORT_BATCH = 500  # rows read per statement by `every`
REVISION_KEY = re.compile(r"^(?P<record>.+):(?P<revision>\d+)$")
MESSAGE_ID_KEY = re.compile(r"^<?(?P<message>[^<>@]+?)\.[A-Za-z0-9_-]+@[^<>@]*>?$")
NEWEST_FIRST = (OutboxMessage.created_at.desc(), OutboxMessage.id.desc())


@dataclass(frozen=True)
class Filter:
    """Which messages a list shows; every filter given must hold. `since` (inclusive) and `until`
    (exclusive) bound `created_at` and carry a time zone; `status` is pending, delivered or dead;
    `idempotency_key` as the module's docstring says."""

    destination: str | None = None
    kind: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    subject_id: str | None = None
    idempotency_key: str | None = None

    def check(self) -> None:
        """Raise `Invalid`, saying why, for a status, destination or time range no message can have, or
        text with a NUL (PostgreSQL refuses it in a comparison: an export would fail after its first line)."""
        for name in ("destination", "kind", "status", "subject_id", "idempotency_key"):
            if "\x00" in (getattr(self, name) or ""):
                raise Invalid(f"{name} must not contain NUL (0x00) characters: no message has one")
        if self.status and self.status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}")
        check_window(self.since, self.until, self.destination)

    def kinds(self) -> list[str] | None:
        """The kinds the filter reads (None: any)."""
        if self.destination:
            found = kinds_of(self.destination)
            return [kind for kind in found if kind == self.kind] if self.kind else found
        return [self.kind] if self.kind else None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE of this filter but its kinds (after `check`)."""
        found = []
        if self.status:
            found.append(OutboxMessage.status == self.status)
        if self.since:
            found.append(OutboxMessage.created_at >= self.since)
        if self.until:
            found.append(OutboxMessage.created_at < self.until)
        if self.subject_id:
            found.append(OutboxMessage.subject_id == self.subject_id)
        if self.idempotency_key:
            found.append(named_by_key(self.idempotency_key))
        return found

    def described(self) -> dict[str, Any]:
        """The filters given (times in ISO 8601), e.g. for links and logs."""
        return {name: isoformat(value) if isinstance(value, datetime) else value
                for name, value in vars(self).items() if value}

    def selection(self) -> Selection:
        """The replay's `Selection` of the same messages: their status must be dead (the default) or
        delivered; an idempotency key becomes the ids of its messages (Invalid when it names none).
        With no filter at all, every message of the status."""
        self.check()
        status = self.status or Status.DEAD.value
        if status not in REPLAYABLE:
            raise Invalid(f"a replay takes {' or '.join(REPLAYABLE)} messages; {status} ones are on their way already")
        ids: tuple[str, ...] = ()
        if self.idempotency_key:
            ids = tuple(db.session.scalars(select(OutboxMessage.id).where(named_by_key(self.idempotency_key))
                                           .limit(MAX_IDS + 1)))
            if not ids:
                raise Invalid("no message has this idempotency key")
        chosen = Selection(ids=ids, kind=self.kind, destination=self.destination, status=status, since=self.since,
                           until=self.until, subject_id=self.subject_id)
        return chosen if chosen.narrowed() else replace(chosen, everything=True)


def named_by_key(key: str) -> ColumnElement[bool]:
    """A SQL condition true for the messages idempotency key `key` names (see the module's docstring):
    answered from the primary key and the subject index."""
    key = key.strip()
    ids, subjects = {key}, {key}
    if revision := REVISION_KEY.match(key):
        subjects.add(revision["record"])
    if mail := MESSAGE_ID_KEY.match(key):
        ids.add(mail["message"])
    return or_(OutboxMessage.id.in_(sorted(ids)), OutboxMessage.subject_id.in_(sorted(subjects)))


def cursor_of(message: OutboxMessage) -> str:
    """The opaque cursor of the page after `message`."""
    return base64.urlsafe_b64encode(f"{message.created_at.isoformat()}|{message.id}".encode()).decode().rstrip("=")


def _position(cursor: str) -> tuple[datetime, str]:
    try:
        created, message_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|", 1)
        moment = datetime.fromisoformat(created)
        if "\x00" in message_id:
            raise ValueError("a NUL in the cursor's id")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("the page cursor (after) is not one this list gave") from None
    return (moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)), message_id


def newest(matching: Filter, limit: int = 50, after: str | None = None) -> tuple[list[OutboxMessage], str | None]:
    """(up to `limit` messages matching, newest first, below the cursor `after`; the cursor of the next
    page, None on the last). Raises `Invalid` for a bad filter or cursor."""
    matching.check()
    conditions = matching.conditions()
    if after:
        conditions.append(tuple_(OutboxMessage.created_at, OutboxMessage.id) < tuple_(*_position(after)))
    found = list(db.session.scalars(_newest_query(matching.kinds(), conditions, limit + 1)))
    return found[:limit], (cursor_of(found[limit - 1]) if len(found) > limit else None)


def _newest_query(kinds: list[str] | None, conditions: list[ColumnElement[bool]], limit: int) -> Select:
    if kinds is None or len(kinds) == 1:
        narrowed = conditions + ([OutboxMessage.kind == kinds[0]] if kinds else [])
        return select(OutboxMessage).where(*narrowed).order_by(*NEWEST_FIRST).limit(limit)
    if not kinds:
        return select(OutboxMessage).where(OutboxMessage.id.is_(None))
    # One index scan per kind, each stopping after `limit` rows, then the newest `limit` of them all.
    scans = [select(OutboxMessage.id, OutboxMessage.created_at).where(*conditions, OutboxMessage.kind == kind)
             .order_by(*NEWEST_FIRST).limit(limit).subquery() for kind in kinds]
    merged = union_all(*(select(scan.c.id, scan.c.created_at) for scan in scans)).subquery()
    chosen = select(merged.c.id).order_by(merged.c.created_at.desc(), merged.c.id.desc()).limit(limit)
    return select(OutboxMessage).where(OutboxMessage.id.in_(chosen)).order_by(*NEWEST_FIRST)


def every(matching: Filter, batch: int = EXPORT_BATCH) -> Iterator[OutboxMessage]:
    """Every message matching, newest first, read `batch` at a time (keyset), for an export. The caller
    must `check` the filter first if it wants its error before the first row is sent."""
    after = None
    while True:
        found, after = newest(matching, batch, after)
        yield from found
        if after is None:
            return


def counted(matching: Filter, limit: int, offset: int) -> tuple[int, list[OutboxMessage], str | None]:
    """(how many match, this offset page newest first, the keyset cursor after it or None on the last):
    the API's older paging, kept for its clients."""
    matching.check()
    query = select(OutboxMessage).where(*matching.conditions())
    kinds = matching.kinds()
    if kinds is not None:
        query = query.where(OutboxMessage.kind.in_(kinds))
    total, found = offset_page(query, limit, offset, *NEWEST_FIRST)
    more = offset + len(found) < total
    return total, found, (cursor_of(found[-1]) if found and more else None)
