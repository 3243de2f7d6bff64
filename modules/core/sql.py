"""SQL that the domains share: the dialect's INSERT, LIKE patterns, the database probe."""

from __future__ import annotations

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from modules.core.extensions import db

LIKE_ESCAPE = "\\"


def on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def dialect_insert(table: Table) -> Insert:
    """The INSERT of the database in use (PostgreSQL in production, SQLite in development), for
    `on_conflict_do_nothing` / `on_conflict_do_update`, which both dialects spell the same way."""
    return (postgresql if on_postgresql() else sqlite).insert(table)


def contains_pattern(value: str) -> str:
    """A LIKE pattern matching `value` anywhere, its `%`, `_` and `\\` taken literally; use it with
    `column.like(pattern, escape=LIKE_ESCAPE)`."""
    escaped = "".join(LIKE_ESCAPE + char if char in (LIKE_ESCAPE, "%", "_") else char for char in value)
    return f"%{escaped}%"


def prefix_pattern(value: str) -> str:
    """A LIKE pattern matching text that starts with `value` (taken literally, as in `contains_pattern`)."""
    return contains_pattern(value)[1:]


def probe_database() -> None:
    """One round trip; raises SQLAlchemy's error when the database does not answer."""
    db.session.execute(text("SELECT 1"))
