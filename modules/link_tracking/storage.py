"""Bulk writes of click rows: one transaction that registers unknown links, records the new event ids, stores
the clicks whose event id is new (or that have none) and adds them to the daily rollup.

Rows are plain dicts with every column of `link_clicks` (as `ingest.check_event` builds them), never ORM
objects; the batch API, `flask link-tracking import` and the redirect all come through `store_rows`. This
is the path that must carry tens of thousands of events per second, and thousands of one-event batches and
redirects. On PostgreSQL the whole batch travels as one JSON parameter that `json_populate_recordset` turns
back into rows, and ONE statement (data-modifying CTEs) registers the unknown links, does the dedupe, the
insert and the rollup, sent in autocommit: one round trip, no BEGIN or COMMIT of its own, and a single
statement is a transaction, all of it or nothing. (A 1,000-row VALUES list would cost PostgreSQL more to
parse and plan than to insert; COPY into a staging table costs more in Python, see docs/link_tracking.md.)
SQLite (development) does the same in a few statements of the session's transaction.

Dedupe: within a batch the first event of an event id wins; across batches `link_click_events` holds every
stored event id (`INSERT ... ON CONFLICT DO NOTHING`, so a concurrent retry waits for the first and then
skips). Locks are taken in key order (links, event ids, rollup keys) so concurrent batches never deadlock:
in the statement, the inserts of event ids and clicks wait for the links' (`registered`, a one-time filter),
and the rollup upsert reads the inserted clicks, grouped and sorted, after them.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, func, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import Insert

from modules.core import prepared
from modules.core.extensions import db
from modules.core.sql import dialect_insert, on_postgresql
from modules.link_tracking import partitions
from modules.link_tracking.models import LinkClick, LinkClickDaily, LinkClickEvent, TrackedLink

_COLUMNS = ", ".join(column.name for column in LinkClick.__table__.columns)
_STORE_POSTGRESQL = f"""
WITH batch AS (
    SELECT * FROM json_populate_recordset(NULL::link_clicks, $1) WITH ORDINALITY
), new_links AS (
    INSERT INTO link_tracking (tracking_id, original_url, is_active, auto_registered, created_at, updated_at)
    SELECT DISTINCT tracking_id, NULL, true, true, $2,
        $2
    FROM batch ORDER BY tracking_id
    ON CONFLICT DO NOTHING RETURNING 1
), registered AS (
    SELECT count(*) AS links FROM new_links
), firsts AS (
    SELECT DISTINCT ON (event_id) * FROM batch
    WHERE event_id IS NOT NULL AND (SELECT links FROM registered) >= 0 ORDER BY event_id, ordinality
), new_events AS (
    INSERT INTO link_click_events (event_id, clicked_at)
    SELECT event_id, clicked_at FROM firsts ORDER BY event_id
    ON CONFLICT DO NOTHING RETURNING event_id
), stored AS (
    INSERT INTO link_clicks ({_COLUMNS})
    SELECT {_COLUMNS} FROM batch WHERE event_id IS NULL AND (SELECT links FROM registered) >= 0
    UNION ALL
    SELECT {_COLUMNS} FROM firsts JOIN new_events USING (event_id)
    RETURNING tracking_id, clicked_at, click_source
)
INSERT INTO link_click_daily (tracking_id, day, click_source, clicks, first_clicked_at, last_clicked_at)
SELECT tracking_id, (clicked_at AT TIME ZONE 'UTC')::date, click_source, count(*), min(clicked_at), max(clicked_at)
FROM stored GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (tracking_id, day, click_source) DO UPDATE SET
    clicks = link_click_daily.clicks + excluded.clicks,
    first_clicked_at = least(link_click_daily.first_clicked_at, excluded.first_clicked_at),
    last_clicked_at = greatest(link_click_daily.last_clicked_at, excluded.last_clicked_at)
"""
_DESTINATION = "SELECT original_url FROM link_tracking WHERE tracking_id = $1 AND is_active"
_DESTINATION_SQLITE = text("SELECT original_url FROM link_tracking WHERE tracking_id = :tracking_id AND is_active")
NO_PARTITION = "23514"  # PostgreSQL's check_violation: "no partition of relation ... found for row"


def _insert_ignoring_conflicts(table: Table) -> Insert:
    """RETURNING makes SQLAlchemy send the rows as one multi-VALUES statement (its "insertmanyvalues"
    mode, which it uses with ON CONFLICT only then)."""
    return dialect_insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


def new_click_ids(count: int) -> list[str]:
    """`count` random click ids, UUID version 4 as `str(uuid.uuid4())` writes them (122 random bits from the
    OS, version nibble 4, variant 10xx), from one `os.urandom` call: five times cheaper per id than uuid4."""
    digits = os.urandom(16 * count).hex()
    ids = []
    for start in range(0, 32 * count, 32):
        hexa = digits[start:start + 32]
        variant = "89ab"[int(hexa[16], 16) & 3]
        ids.append(f"{hexa[:8]}-{hexa[8:12]}-4{hexa[13:16]}-{variant}{hexa[17:20]}-{hexa[20:]}")
    return ids


def _iso(value: datetime) -> str:
    return value.isoformat()


def rows_json(rows: list[dict[str, Any]]) -> str:
    """The rows as one JSON array for `json_populate_recordset`. orjson writes what the standard library writes
    in meaning, ten times faster: datetimes as `isoformat()` text (UTC, `+00:00`, microseconds when not 0),
    floats with the same digits and scale (so jsonb keeps the same numeric), non-ASCII text as UTF-8 rather
    than `\\u` escapes (the same text once parsed). It refuses what the standard library does not: an integer
    beyond 64 bits (valid JSON in metadata) or an unpaired surrogate; those batches are written as before."""
    try:
        return orjson.dumps(rows).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(rows, default=_iso)


def _register_links(rows: list[dict[str, Any]], registered_at: datetime) -> None:
    """Unknown tracking ids become auto-registered links (SQLite; PostgreSQL's statement does it), in sorted
    order as on PostgreSQL."""
    link_rows = [{"tracking_id": tracking_id, "original_url": None, "is_active": True, "auto_registered": True,
                  "created_at": registered_at, "updated_at": registered_at}
                 for tracking_id in sorted({row["tracking_id"] for row in rows})]
    db.session.execute(_insert_ignoring_conflicts(TrackedLink.__table__), link_rows)


def _store_sqlite(rows: list[dict[str, Any]]) -> None:
    firsts: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["event_id"] is not None:
            firsts.setdefault(row["event_id"], row)
    new_ids: set[str] = set()
    if firsts:
        events = [{"event_id": event_id, "clicked_at": firsts[event_id]["clicked_at"]} for event_id in sorted(firsts)]
        new_ids = set(db.session.scalars(_insert_ignoring_conflicts(LinkClickEvent.__table__), events))
    stored = [row for row in rows if row["event_id"] is None
              or (row["event_id"] in new_ids and firsts[row["event_id"]] is row)]
    if not stored:
        return
    db.session.execute(LinkClick.__table__.insert(), stored)
    _add_to_rollup_sqlite(stored)


def _add_to_rollup_sqlite(stored: list[dict[str, Any]]) -> None:
    days: dict[tuple, list[datetime]] = defaultdict(list)
    for row in stored:
        days[(row["tracking_id"], row["clicked_at"].date(), row["click_source"])].append(row["clicked_at"])
    table = LinkClickDaily.__table__
    insert = sqlite.insert(table)
    upsert = insert.on_conflict_do_update(index_elements=list(table.primary_key.columns), set_={
        "clicks": table.c.clicks + insert.excluded.clicks,
        "first_clicked_at": func.min(table.c.first_clicked_at, insert.excluded.first_clicked_at),
        "last_clicked_at": func.max(table.c.last_clicked_at, insert.excluded.last_clicked_at)})
    db.session.execute(upsert, [
        {"tracking_id": tracking_id, "day": day, "click_source": source, "clicks": len(times),
         "first_clicked_at": min(times), "last_clicked_at": max(times)}
        for (tracking_id, day, source), times in sorted(days.items())])


def _store(rows: list[dict[str, Any]], registered_at: datetime) -> None:
    if on_postgresql():
        with prepared.autocommit() as connection:
            prepared.execute(connection, "link_tracking_store", _STORE_POSTGRESQL, (rows_json(rows), registered_at),
                             types=("json", "timestamptz"))
        return
    _register_links(rows, registered_at)
    _store_sqlite(rows)
    db.session.commit()


def active_destination(tracking_id: str) -> str | None:
    """The original_url of an active link (None when unknown, inactive or without one), read in one round
    trip on PostgreSQL (no transaction left open)."""
    if on_postgresql():
        with prepared.autocommit() as connection:
            return prepared.execute(connection, "link_tracking_destination", _DESTINATION, (tracking_id,),
                                    types=("text",)).scalar()
    return db.session.execute(_DESTINATION_SQLITE, {"tracking_id": tracking_id}).scalar()


def store_rows(rows: list[dict[str, Any]], registered_at: datetime) -> None:
    """Store a batch of click rows in one transaction (see the module's docstring); events whose event_id is
    already stored, or repeated earlier in the batch, are skipped. Creates the partitions of months not seen
    yet first; when an insert still finds none (another process's retention dropped it since), this process
    forgets what it knew and stores the batch once more. Raises SQLAlchemy's errors."""
    if not rows:
        return
    partitions.ensure_months(row["clicked_at"] for row in rows)
    try:
        _store(rows, registered_at)
    except IntegrityError as error:
        db.session.rollback()
        if getattr(error.orig, "pgcode", None) != NO_PARTITION:
            raise
        partitions.forget_months()
        partitions.ensure_months(row["clicked_at"] for row in rows)
        _store(rows, registered_at)
