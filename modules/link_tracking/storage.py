"""Bulk writes of click rows: one transaction, one multi-row INSERT per table, conflicts skipped.

Rows are plain dicts with every column of `link_clicks` (as `ingest.check_event` builds them), never
ORM objects. On PostgreSQL the clicks go through psycopg2's `execute_values`, which renders the rows
in C: it needs about a third of the CPU of SQLAlchemy's executemany, and this is the path that must
carry tens of thousands of events per second. SQLite (development) uses SQLAlchemy's insert.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from psycopg2.extras import execute_values
from sqlalchemy.dialects import postgresql, sqlite

from modules.core.extensions import db
from modules.link_tracking.models import LinkClick, TrackedLink

_CLICK_COLUMNS = [column.name for column in LinkClick.__table__.columns]
_CLICK_INSERT = (f"INSERT INTO {LinkClick.__tablename__} ({', '.join(_CLICK_COLUMNS)}) VALUES %s "
                 "ON CONFLICT DO NOTHING")
_CLICK_VALUES = "(" + ", ".join(f"%({name})s" for name in _CLICK_COLUMNS) + ")"


def _on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _insert_ignoring_conflicts(table):
    """RETURNING makes SQLAlchemy send the rows as one multi-VALUES statement (its "insertmanyvalues"
    mode, which it uses with ON CONFLICT only then)."""
    dialect = postgresql if _on_postgresql() else sqlite
    return dialect.insert(table).on_conflict_do_nothing().returning(*table.primary_key.columns)


def _insert_clicks_postgresql(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["metadata"] is not None:
            row["metadata"] = json.dumps(row["metadata"])
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    execute_values(cursor, _CLICK_INSERT, rows, template=_CLICK_VALUES, page_size=len(rows))


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
    if _on_postgresql():
        _insert_clicks_postgresql(rows)
    else:
        db.session.execute(_insert_ignoring_conflicts(LinkClick.__table__), rows)
    db.session.commit()
