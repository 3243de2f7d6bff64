"""Replaying and purging messages chosen by a filter: a dry run first, then one statement for all of them.

An operator names which messages (`Selection`: ids, kind or destination, status, a range of creation
times, a subject; or says all of them). A dry run counts them by kind with one `COUNT ... GROUP BY kind`;
the real replay is one UPDATE with the same WHERE, and one drain queued after the commit delivers them
(not a job per row). A purge deletes dead messages with one DELETE of their attempts and one of the
messages. Both are audit-logged (domain "core") with the filter and the counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update

from modules.core import audit
from modules.core.exceptions import Invalid
from modules.core.extensions import db
from modules.core.models import OutboxAttempt, OutboxMessage
from modules.core.outbox.delivery import queue_drain_after_commit
from modules.core.outbox.destinations import kinds_of
from modules.core.outbox.handlers import Status
from modules.core.types import isoformat, utcnow

MAX_IDS = 1000
REPLAYABLE = (Status.DEAD.value, Status.DELIVERED.value)  # never pending: those are on their way already


@dataclass(frozen=True)
class Selection:
    """Which messages an operator means. Every filter given must hold (AND); `everything` says "all of
    `status`" when no filter narrows it. `status` is `dead` (replay) or `delivered` (deliver again).
    `since` and `until` bound `created_at` (since inclusive, until exclusive) and carry a time zone."""

    ids: tuple[str, ...] = ()
    kind: str | None = None
    destination: str | None = None
    status: str = Status.DEAD.value
    since: datetime | None = None
    until: datetime | None = None
    subject_id: str | None = None
    everything: bool = False

    def narrowed(self) -> bool:
        return bool(self.ids or self.kind or self.destination or self.since or self.until or self.subject_id)

    def check(self) -> None:
        """Raise `Invalid` (a 422, a CLI error) for a selection that could be read two ways or none."""
        if not (self.narrowed() or self.everything):
            raise Invalid("name ids, a kind, a destination, a subject or a time range (since, until), "
                          "or say all")
        if len(self.ids) > MAX_IDS:
            raise Invalid(f"at most {MAX_IDS} ids at once")
        if self.status not in REPLAYABLE:
            raise Invalid(f"status must be one of {', '.join(REPLAYABLE)}")
        check_window(self.since, self.until, self.destination)

    def conditions(self) -> list[ColumnElement[bool]]:
        """The WHERE of this selection (after `check`)."""
        found = [OutboxMessage.status == self.status]
        if self.ids:
            found.append(OutboxMessage.id.in_(self.ids))
        if self.kind:
            found.append(OutboxMessage.kind == self.kind)
        if self.destination:
            found.append(OutboxMessage.kind.in_(kinds_of(self.destination)))
        if self.since:
            found.append(OutboxMessage.created_at >= self.since)
        if self.until:
            found.append(OutboxMessage.created_at < self.until)
        if self.subject_id:
            found.append(OutboxMessage.subject_id == self.subject_id)
        return found

    def described(self) -> dict[str, Any]:
        """The filters given, for the audit log and the answer (times in ISO 8601)."""
        given = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if value or field.name == "status":
                given[field.name] = isoformat(value) if isinstance(value, datetime) else value
        if "ids" in given:
            given["ids"] = list(given["ids"])
        return given


def preview(selection: Selection) -> dict[str, int]:
    """How many messages `selection` takes, by kind: {kind: n} (one COUNT ... GROUP BY kind)."""
    selection.check()
    rows = db.session.execute(select(OutboxMessage.kind, func.count()).where(*selection.conditions())
                              .group_by(OutboxMessage.kind).order_by(OutboxMessage.kind))
    return {kind: count for kind, count in rows}


def replay(selection: Selection, dry_run: bool = False, actor: str = "system") -> dict[str, Any]:
    """Give the selected messages a fresh schedule (pending, no attempts used, due now; a delivered one
    loses its delivered_at) with one UPDATE, commit, and queue one drain to deliver them.

    Returns {"dry_run", "matched", "replayed", "by_kind": {kind: n}}; a dry run changes nothing and
    says `replayed` 0. Raises `Invalid` for a selection `Selection.check` refuses."""
    if dry_run:
        by_kind = preview(selection)
        return _answer(True, by_kind, "replayed")
    selection.check()
    now = utcnow()
    kinds = db.session.execute(
        update(OutboxMessage).where(*selection.conditions())
        .values(status=Status.PENDING.value, attempts=0, next_attempt_at=now, claimed_until=None,
                enqueued_at=None, delivered_at=None, updated_at=now)
        .returning(OutboxMessage.kind).execution_options(synchronize_session=False)).scalars()
    by_kind = dict(sorted(Counter(kinds).items()))
    answer = _answer(False, by_kind, "replayed")
    if answer["replayed"]:
        queue_drain_after_commit()
    audit.record("core", "outbox.replayed", actor=actor, details=_audited(selection, answer))
    db.session.commit()
    return answer


def purge_dead(selection: Selection, dry_run: bool = False, actor: str = "system") -> dict[str, Any]:
    """Delete the selected dead messages and their attempts: one DELETE of the attempts, one of the
    messages, one commit. Returns {"dry_run", "matched", "purged", "by_kind"}. Raises `Invalid` for a
    selection of anything but dead messages, or one `Selection.check` refuses."""
    if selection.status != Status.DEAD.value:
        raise Invalid("only dead messages are purged by hand (delivered ones go after OUTBOX_RETENTION_DAYS)")
    if dry_run:
        return _answer(True, preview(selection), "purged")
    selection.check()
    chosen = select(OutboxMessage.id).where(*selection.conditions())
    db.session.execute(delete(OutboxAttempt).where(OutboxAttempt.outbox_id.in_(chosen))
                       .execution_options(synchronize_session=False))
    kinds = db.session.execute(delete(OutboxMessage).where(*selection.conditions())
                               .returning(OutboxMessage.kind).execution_options(synchronize_session=False)).scalars()
    answer = _answer(False, dict(sorted(Counter(kinds).items())), "purged")
    audit.record("core", "outbox.purged", actor=actor, details=_audited(selection, answer))
    db.session.commit()
    return answer


def _answer(dry_run: bool, by_kind: dict[str, int], done: str) -> dict[str, Any]:
    matched = sum(by_kind.values())
    return {"dry_run": dry_run, "matched": matched, done: 0 if dry_run else matched, "by_kind": by_kind}


def _audited(selection: Selection, answer: dict[str, Any]) -> dict[str, Any]:
    return {"filter": selection.described(), **{key: value for key, value in answer.items() if key != "dry_run"}}


def check_window(since: datetime | None, until: datetime | None, destination: str | None) -> None:
    """Raise `Invalid` for a creation-time window or destination no message can match: a time without a
    zone or with no UTC time, `since` (inclusive) not before `until` (exclusive), an unknown destination.
    Replays and the deliveries list filter alike (listing.py)."""
    for name, moment in (("since", since), ("until", until)):
        if moment is None:
            continue
        if moment.utcoffset() is None:
            raise Invalid(f"{name} needs a time zone (e.g. 2026-12-01T00:00:00Z)")
        try:
            moment.astimezone(UTC)  # as it is stored; 0001-01-01T00:00+05:00 has no UTC time
        except OverflowError:
            raise Invalid(f"{name} is out of range") from None
    if since and until and since >= until:
        raise Invalid("since must be before until")
    if destination and not kinds_of(destination):
        raise Invalid(f"no destination is named {destination}")
