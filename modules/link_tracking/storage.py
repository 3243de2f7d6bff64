"""Bulk writes of click rows: one transaction, one multi-row INSERT per table, conflicts skipped.

Rows are plain dicts with every column of `link_clicks` (as `ingest.check_event` builds them), never
ORM objects. This is the path that must carry tens of thousands of events per second. On PostgreSQL
the whole batch travels as one JSON parameter that `json_populate_recordset` turns back into rows:
a 1,000-row VALUES list would cost PostgreSQL more to parse and plan than to insert, and SQLAlchemy's
executemany more CPU still. SQLite (development) uses SQLAlchemy's insert.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.sql.dml import Insert

from modules.core.extensions import db
from modules.core.sql import dialect_insert, on_postgresql
from modules.link_tracking.models import LinkClick, TrackedLink

_CLICK_COLUMNS = ", ".join(column.name for column in LinkClick.__table__.columns)
_CLICK_INSERT = text(f"INSERT INTO {LinkClick.__tablename__} ({_CLICK_COLUMNS}) SELECT {_CLICK_COLUMNS} "
                     f"FROM json_populate_recordset(NULL::{LinkClick.__tablename__}, :rows) ON CONFLICT DO NOTHING")


def _insert_ignoring_conflicts(table: Table) -> Insert:
    """RETURNING makes SQLAlchemy send the rows as one multi-VALUES statement (its "insertmanyvalues"
    mode, which it uses with ON CONFLICT only then)."""
    return dialect_insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


def _iso(value: datetime) -> str:
    return value.isoformat()


def _insert_clicks_postgresql(rows: list[dict[str, Any]]) -> None:
    db.session.execute(_CLICK_INSERT, {"rows": json.dumps(rows, default=_iso)})


def store_rows(rows: list[dict[str, Any]], registered_at: datetime) -> None:
    """Register unknown tracking ids, insert every click, commit once. Events whose event_id is already
    stored are skipped by its unique index. Ids are registered in sorted order so that concurrent
    batches registering the same new ids wait for each other instead of deadlocking."""
    if not rows:
        return
    link_rows = [{"tracking_id": tracking_id, "original_url": None, "is_active": True, "auto_registered": True,
                  "created_at": registered_at, "updated_at": registered_at}
                 for tracking_id in sorted({row["tracking_id"] for row in rows})]
    db.session.execute(_insert_ignoring_conflicts(TrackedLink.__table__), link_rows)
    if on_postgresql():
        _insert_clicks_postgresql(rows)
    else:
        db.session.execute(_insert_ignoring_conflicts(LinkClick.__table__), rows)
    db.session.commit()
