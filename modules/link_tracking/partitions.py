"""Monthly partitions of `link_clicks` on PostgreSQL (SQLite keeps one table and needs none of this).

A partition covers one UTC month, `[first day 00:00Z, next month's first day)`, and is named
`link_clicks_yYYYYmMM`. There is no DEFAULT partition (it would have to be scanned whenever a month is
attached or detached), so a click can only be stored once its month's partition exists: the scheduler
creates the current month and the next ones ahead (`create_months_ahead`), and the ingest creates any other
month it meets (an imported history, a clock up to a day ahead) before it inserts (`ensure_months`). Each
process remembers the months it has seen, so the hot path pays one set lookup per batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

from modules.core.extensions import db
from modules.core.sql import on_postgresql
from modules.core.types import utcnow

Month = tuple[int, int]  # (year, month)

PARENT = "link_clicks"
MONTHS_AHEAD = 3
PARTITION_NAME = re.compile(rf"^{PARENT}_y(\d{{4}})m(\d{{2}})$")
# Creating a partition locks the parent; an ingest waits at most this long for it rather than queueing forever.
DDL_LOCK_TIMEOUT = "5s"
_CREATORS_LOCK = 7_246_301  # advisory lock key: one creator at a time

_known: dict[str, set[Month]] = {}  # months whose partition exists, per database URL


def month_of(moment: datetime) -> Month:
    moment = moment.astimezone(UTC)
    return moment.year, moment.month


def next_month(month: Month) -> Month:
    year, number = month
    return (year + 1, 1) if number == 12 else (year, number + 1)


def add_months(month: Month, count: int) -> Month:
    index = month[0] * 12 + month[1] - 1 + count
    return index // 12, index % 12 + 1


def month_start(month: Month) -> str:
    """The month's first instant as a PostgreSQL timestamptz literal (years past 9999 included)."""
    return f"{month[0]:04d}-{month[1]:02d}-01 00:00:00+00"


def partition_name(month: Month) -> str:
    return f"{PARENT}_y{month[0]:04d}m{month[1]:02d}"


def month_of_partition(name: str) -> Month | None:
    match = PARTITION_NAME.match(name)
    return (int(match[1]), int(match[2])) if match else None


def include_name(name: str | None, type_: str, _parent_names: dict) -> bool:
    """Alembic's `include_name` hook: the partitions are made at run time, not by a model or a migration."""
    return not (type_ == "table" and name is not None and PARTITION_NAME.match(name))


def lock_for_ddl(connection: Connection) -> None:
    """Before creating, detaching or dropping a partition, in its own transaction: wait at most
    DDL_LOCK_TIMEOUT for a lock, and lock `link_tracking` (which the partition's foreign key references) before
    `link_clicks`, the order in which batches take them, so that a batch and the DDL never deadlock."""
    connection.execute(text(f"SET LOCAL lock_timeout = '{DDL_LOCK_TIMEOUT}'"))
    connection.execute(text("LOCK TABLE link_tracking IN SHARE ROW EXCLUSIVE MODE"))


def _bounds(month: Month) -> str:
    return f"FOR VALUES FROM ('{month_start(month)}') TO ('{month_start(next_month(month))}')"


def create_partition(connection: Connection, month: Month, parent: str = PARENT) -> None:
    """Create the month's partition if it does not exist (also used by the migration, on its new table)."""
    connection.execute(text(f"CREATE TABLE IF NOT EXISTS {partition_name(month)} PARTITION OF {parent} "
                            f"{_bounds(month)}"))


def attach_partition(connection: Connection, month: Month) -> None:
    """Attach again the month's detached partition (retention's, when its export failed); take
    `lock_for_ddl` first. Only retention does it: an ingest re-attaching a table retention is exporting
    would let a click land in rows about to be dropped unexported."""
    connection.execute(text(f"ALTER TABLE {PARENT} ATTACH PARTITION {partition_name(month)} {_bounds(month)}"))


def attached_months(connection: Connection) -> set[Month]:
    names = connection.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:parent)"), {"parent": PARENT}).scalars()
    return {month for month in map(month_of_partition, names) if month is not None}


def _cache() -> set[Month]:
    return _known.setdefault(db.engine.url.render_as_string(), set())


def forget_months(months: Iterable[Month] | None = None) -> None:
    """Drop months from this process's cache (all of them when None): after a detach, or when an insert
    found no partition (another process's retention dropped it)."""
    cache = _cache()
    if months is None:
        cache.clear()
    else:
        cache.difference_update(months)


def create_months(months: Iterable[Month]) -> None:
    """Create the partitions of `months` that are missing, in their own short transaction. Concurrent
    creators take turns on an advisory lock, so two batches meeting the same new month both succeed."""
    wanted = set(months)
    with db.engine.connect() as connection:
        existing = attached_months(connection)
        connection.rollback()
        missing = sorted(wanted - existing)
        if missing:
            with connection.begin():
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CREATORS_LOCK})
                lock_for_ddl(connection)
                for month in missing:
                    create_partition(connection, month)
    _cache().update(existing | wanted)


def ensure_months(clicked_at: Iterable[datetime]) -> None:
    """Make sure every month of these click times has its partition (PostgreSQL; nothing on SQLite)."""
    if not on_postgresql():
        return
    months = {month_of(moment) for moment in clicked_at}
    if not months <= _cache():
        create_months(months)


def create_months_ahead(now: datetime | None = None, ahead: int = MONTHS_AHEAD) -> list[str]:
    """The current month's partition and the next `ahead` ones; returns their names (none on SQLite)."""
    if not on_postgresql():
        return []
    current = month_of(now or utcnow())
    months = [add_months(current, offset) for offset in range(ahead + 1)]
    create_months(months)
    return [partition_name(month) for month in months]
