"""Retention: deleting rows past a time window in bounded batches, and the audit log's own retention job.

`delete_older_than` selects up to `batch_size` primary keys of rows whose time column is before the cutoff
(oldest first, through the time column's index; on PostgreSQL skipping rows another transaction holds),
deletes the rows that reference them (`children`), then them, and commits: each batch is one short
transaction, so a purge never holds a lock for long, and a run stops after `max_batches`, so it ends in
bounded time; the next run takes what is left. Composite primary keys work (a row-value IN, which SQLite
has had since 3.15).

`purge` is what a domain's periodic job calls: the deletion, then one audit row for the whole run (table,
count, cutoff), never one per record. Rows it deletes are read by nobody after the window; the audit row
says they went.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Table, delete, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from modules.core import audit
from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.core.queue import app_job
from modules.core.scheduler import periodic
from modules.core.types import utcnow

MAX_BATCHES = 1000  # per run of a periodic job: 1,000,000 rows at the default RETENTION_BATCH
EVERY_SECONDS = 3600  # retention jobs run hourly: at most one audit row per job and hour
ACTOR = "retention"


def cutoff_days(setting: str, now: datetime | None = None) -> datetime | None:
    """`now` minus the setting's days: rows older than this go. None when the setting is 0 (kept
    forever)."""
    days = current_app.config[setting]
    return (now or utcnow()) - timedelta(days=days) if days > 0 else None


def batch_size() -> int:
    """RETENTION_BATCH, checked: rows per batch of every retention job but the outbox's."""
    size = current_app.config["RETENTION_BATCH"]
    if size < 1:
        raise ValueError(f"RETENTION_BATCH must be at least 1, not {size}")
    return size


def delete_older_than(table: Any, time_column: Any, cutoff: datetime | date, size: int, *,
                      where: Sequence[ColumnElement[bool]] = (), children: Sequence[InstrumentedAttribute] = (),
                      max_batches: int | None = MAX_BATCHES) -> int:
    """Delete the rows of `table` (a model or a Table) whose `time_column` is before `cutoff` and that match
    every `where`, in batches of `size` rows, each its own transaction, at most `max_batches` of them (None:
    until none is left). `children` are foreign-key columns of other tables that reference the primary key
    (single-column keys only): their rows go first, in the same transaction. Returns how many rows of
    `table` were deleted."""
    return sum(batches(table, time_column, cutoff, size, where=where, children=children, max_batches=max_batches))


def batches(table: Any, time_column: Any, cutoff: datetime | date, size: int, *,
            where: Sequence[ColumnElement[bool]] = (), children: Sequence[InstrumentedAttribute] = (),
            max_batches: int | None = MAX_BATCHES) -> Iterator[int]:
    """`delete_older_than`, yielding each committed batch's row count as it goes."""
    if size < 1:
        raise ValueError(f"a batch holds at least 1 row, not {size}")
    key = list(_table(table).primary_key.columns)
    if children and len(key) != 1:
        raise ValueError("children are supported for single-column primary keys only")
    found = select(*key).where(time_column < cutoff, *where).order_by(time_column).limit(size)
    for _ in range(max_batches) if max_batches is not None else itertools.count():
        keys = db.session.execute(found.with_for_update(skip_locked=True)).all()
        if keys:
            _delete(table, key, keys, children)
        db.session.commit()
        if keys:
            yield len(keys)
        if len(keys) < size:
            return


def _table(table: Any) -> Table:
    return table if isinstance(table, Table) else table.__table__


def _delete(table: Any, key: list, keys: list, children: Sequence[InstrumentedAttribute]) -> None:
    if len(key) == 1:
        values = [row[0] for row in keys]
        for child in children:
            db.session.execute(delete(child.class_).where(child.in_(values))
                               .execution_options(synchronize_session=False))
        chosen = key[0].in_(values)
    else:
        chosen = tuple_(*key).in_([tuple(row) for row in keys])
    db.session.execute(delete(_table(table)).where(chosen))


def purge(domain: str, event_name: str, table: Any, time_column: Any, cutoff: datetime | date | None, *,
          where: Sequence[ColumnElement[bool]] = (), max_batches: int | None = MAX_BATCHES) -> int:
    """Delete `table`'s rows past `cutoff` in batches of RETENTION_BATCH (None cutoff: nothing, kept forever)
    and record one audit row for the run, `event_name` in `domain`, with the table, the count and the cutoff,
    when anything went; also when the run stops on an error, for the batches already committed. Returns the
    count."""
    if cutoff is None:
        return 0
    deleted = 0
    try:
        for count in batches(table, time_column, cutoff, batch_size(), where=where, max_batches=max_batches):
            deleted += count
    finally:
        if deleted:
            db.session.rollback()
            audit.record(domain, event_name, actor=ACTOR, details={
                "table": _table(table).name, "count": deleted, "cutoff": cutoff.isoformat()})
            db.session.commit()
    return deleted


@periodic("audit.retention", every_seconds=EVERY_SECONDS, name="Delete audit entries past AUDIT_RETENTION_DAYS")
@app_job
def purge_audit_log(now: datetime | None = None, max_batches: int | None = MAX_BATCHES) -> int:
    """Delete audit entries older than AUDIT_RETENTION_DAYS (0: kept forever), summarised by one entry
    `audit.purged`. Returns how many went."""
    return purge("core", "audit.purged", AuditEntry, AuditEntry.created_at, cutoff_days("AUDIT_RETENTION_DAYS", now),
                 max_batches=max_batches)
