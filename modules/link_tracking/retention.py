"""Click retention: months of clicks wholly older than `CLICK_RETENTION_MONTHS` are exported, then dropped.

With N months, the current month and the N before it are kept whole; every earlier month goes. For each such
month, oldest first: on PostgreSQL its partition is detached (from then on no click can land in it), its rows
are written to `CLICK_EXPORT_DIR` when set (one gzip JSON-lines file per partition, written under a temporary
name then renamed, so a file that exists is complete), then the partition is dropped; on SQLite the month's
rows are exported and deleted in batches. Then the month's rollup rows and event ids are deleted in batches
of `CLICK_RETENTION_BATCH_SIZE`. Nothing dated inside the window is read or touched.

A click for a dropped month that arrives later (an old import) gets a new partition and is dropped by the
next run; its event id is no longer remembered once its month is gone, so such a retry is stored again.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import column, func, literal_column, select, table, text
from sqlalchemy.sql import ColumnElement, TableClause

from modules.core.extensions import db
from modules.core.retention import delete_older_than
from modules.core.sql import on_postgresql
from modules.core.types import isoformat, utcnow
from modules.link_tracking import partitions
from modules.link_tracking.models import LinkClick, LinkClickDaily, LinkClickEvent
from modules.link_tracking.partitions import Month

EXPORT_SUFFIX = ".jsonl.gz"
EXPORT_ROWS_PER_FETCH = 2000


@dataclass
class DroppedMonth:
    """A month past the window: its partition name, how many clicks it held, and its export file if any."""

    partition: str
    clicks: int
    export: Path | None = None


def first_kept_month(months: int, now: datetime) -> Month:
    """The oldest month kept by a retention of `months` (>= 1): earlier months are past the window."""
    return partitions.add_months(partitions.month_of(now), -months)


def _start(month: Month) -> datetime:
    return datetime(month[0], month[1], 1, tzinfo=UTC)


def _in_month(moment: ColumnElement, month: Month) -> list[ColumnElement]:
    return [moment >= _start(month), moment < _start(partitions.next_month(month))]


def old_months(before: Month) -> list[Month]:
    """Months earlier than `before` that hold clicks (on PostgreSQL: that have a partition, attached or left
    detached by an interrupted run), oldest first."""
    if on_postgresql():
        names = db.session.execute(text("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ :pattern "
                                        "AND relnamespace = current_schema()::regnamespace"),
                                   {"pattern": partitions.PARTITION_NAME.pattern}).scalars()
        return sorted(month for month in map(partitions.month_of_partition, names) if month and month < before)
    found, clicked_at = [], LinkClick.clicked_at
    earliest = db.session.scalar(select(func.min(clicked_at)).where(clicked_at < _start(before)))
    while earliest is not None:
        found.append(partitions.month_of(earliest))
        after = _start(partitions.next_month(found[-1]))
        earliest = db.session.scalar(select(func.min(clicked_at)).where(clicked_at >= after,
                                                                        clicked_at < _start(before)))
    return found


def _partition_table(name: str) -> TableClause:
    return table(name, *(column(col.name, col.type) for col in LinkClick.__table__.columns))


def _export_line(row: dict[str, Any]) -> str:
    values = {name: isoformat(value) if isinstance(value, datetime) else value for name, value in row.items()}
    return json.dumps(values, ensure_ascii=False, separators=(",", ":")) + "\n"


def _write_export(directory: Path, partition: str, rows: Iterator[dict[str, Any]],
                  now: datetime) -> tuple[Path | None, int]:
    """Stream `rows` into `<partition>.<UTC time>.jsonl.gz` (a new file each run: an earlier export of the same
    month is never overwritten); returns the file (None when there was no row: no empty file) and how many
    rows it holds."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{partition}.{now.strftime('%Y%m%dT%H%M%SZ')}{EXPORT_SUFFIX}"
    partial = directory / f".{final.name}.partial"
    count = 0
    with partial.open("wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb") as compressed:
            for row in rows:
                compressed.write(_export_line(row).encode("utf-8"))
                count += 1
        raw.flush()
        os.fsync(raw.fileno())
    if not count:
        partial.unlink()
        return None, 0
    os.replace(partial, final)
    return final, count


def _rows(query) -> Iterator[dict[str, Any]]:
    for row in db.session.execute(query, execution_options={"yield_per": EXPORT_ROWS_PER_FETCH}).mappings():
        yield dict(row)


def _drop_partition(month: Month, export_dir: Path | None, now: datetime) -> DroppedMonth:
    name = partitions.partition_name(month)
    attached = db.session.scalar(text("SELECT relispartition FROM pg_class WHERE oid = to_regclass(:name)"),
                                 {"name": name})
    if attached:
        partitions.lock_for_ddl(db.session.connection())
        db.session.execute(text(f"ALTER TABLE {partitions.PARENT} DETACH PARTITION {name}"))
        db.session.commit()
        partitions.forget_months([month])
    source = _partition_table(name)
    if export_dir is not None:
        try:
            export, clicks = _write_export(export_dir, name, _rows(select(source)), now)
        except Exception:
            db.session.rollback()
            partitions.lock_for_ddl(db.session.connection())
            partitions.attach_partition(db.session.connection(), month)  # its clicks count until an export works
            db.session.commit()
            raise
    else:
        export, clicks = None, db.session.scalar(select(func.count()).select_from(source))
    partitions.lock_for_ddl(db.session.connection())
    db.session.execute(text(f"DROP TABLE {name}"))
    db.session.commit()
    return DroppedMonth(name, clicks, export)


def _delete_month_sqlite(month: Month, export_dir: Path | None, batch_size: int, now: datetime) -> DroppedMonth:
    """Rows are exported, then deleted up to the last exported rowid: a click stored meanwhile for this month
    (a larger rowid) is left for the next run rather than dropped without its export."""
    name, clicks_table = partitions.partition_name(month), LinkClick.__table__
    in_month, rowid = _in_month(clicks_table.c.clicked_at, month), literal_column("rowid")
    last_rowid = db.session.scalar(select(func.max(rowid)).select_from(clicks_table).where(*in_month))
    kept = [*in_month, rowid <= last_rowid]
    export = None
    if export_dir is not None:
        query = select(*clicks_table.columns).where(*kept).order_by(rowid)
        export, _ = _write_export(export_dir, name, _rows(query), now)
    clicks = delete_older_than(clicks_table, clicks_table.c.clicked_at, _start(partitions.next_month(month)),
                               batch_size, where=[*kept], max_batches=None)
    return DroppedMonth(name, clicks, export)


def drop_month(month: Month, export_dir: Path | None, batch_size: int, now: datetime) -> DroppedMonth:
    """Export and drop one month's clicks, then its rollup rows and event ids."""
    if on_postgresql():
        dropped = _drop_partition(month, export_dir, now)
    else:
        dropped = _delete_month_sqlite(month, export_dir, batch_size, now)
    start, end = _start(month), _start(partitions.next_month(month))
    daily, events = LinkClickDaily.__table__, LinkClickEvent.__table__
    delete_older_than(daily, daily.c.day, end.date(), batch_size, where=[daily.c.day >= start.date()],
                      max_batches=None)
    delete_older_than(events, events.c.clicked_at, end, batch_size, where=[events.c.clicked_at >= start],
                      max_batches=None)
    return dropped


def apply_retention(months: int, export_dir: str | Path | None, batch_size: int, *, dry_run: bool = False,
                    now: datetime | None = None) -> list[DroppedMonth]:
    """Drop every month wholly older than the last `months` months (nothing when `months` is 0). With
    `dry_run`, only say what would go: partition names and click counts, nothing written or deleted."""
    if months <= 0:
        return []
    now = now or utcnow()
    directory = Path(export_dir) if export_dir else None
    result = []
    for month in old_months(first_kept_month(months, now)):
        if dry_run:
            clicks = db.session.scalar(select(func.count()).select_from(LinkClick.__table__)
                                       .where(*_in_month(LinkClick.clicked_at, month)))
            result.append(DroppedMonth(partitions.partition_name(month), clicks))
        else:
            result.append(drop_month(month, directory, batch_size, now))
    db.session.commit()
    return result
