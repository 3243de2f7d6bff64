"""Watching the SQL an app runs: what retention tests count batches and transactions with."""

from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from modules.core.extensions import db


@contextmanager
def statements(app):
    """The SQL statements the app's engine runs inside the block, and a "COMMIT" for each commit."""
    seen = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany):
        seen.append(" ".join(statement.split()))

    def committed(_conn):
        seen.append("COMMIT")

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", committed)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", committed)


def writes(seen: list[str]) -> list[str]:
    """The DELETEs and INSERTs (up to their WHERE or column list) and COMMITs among `seen`."""
    return [s.split(" WHERE")[0].split(" (")[0] for s in seen if s.startswith(("DELETE", "INSERT", "COMMIT"))]
