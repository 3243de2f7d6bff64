"""Hot-path statements on PostgreSQL: one statement in autocommit, PREPAREd once per pooled connection.

A single statement is its own transaction (all of it or none), so a record written with its outbox rows or a
click batch with its rollup costs one round trip: no BEGIN, no COMMIT, and no parse or plan once the
connection has the statement prepared. The prepared name carries a hash of the SQL, so two versions of the
hub (a rolling deploy) never run each other's statement under one name.

A pooler in transaction mode (PgBouncer's `pool_mode = transaction`, docs/operations.md) hands each
transaction to any server connection, where a statement PREPAREd on another is missing (26000) or one of
the same name exists (42P05). On the first such error a process stops preparing: that statement, and every
later one, is sent as plain SQL with its parameters (a warning says so once). Nothing is lost either way:
an autocommit statement that failed wrote nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import DBAPIError

from modules.core.extensions import db

log = logging.getLogger(__name__)

NOT_KEPT = {"26000", "42P05"}  # invalid_sql_statement_name, duplicate_prepared_statement
_PREPARED_KEY = "hub_prepared"  # in a pooled connection's `info`: the names PREPAREd on it
_PLACEHOLDER = re.compile(r"\$(\d+)")
_state = {"preparing": True}  # this process's choice, made once (see the module's docstring)


@contextmanager
def autocommit() -> Iterator[Connection]:
    """A pooled connection of its own in AUTOCOMMIT: each statement its own transaction."""
    with db.engine.connect() as connection:
        yield connection.execution_options(isolation_level="AUTOCOMMIT")


def execute(connection: Connection, name: str, sql: str, parameters: Sequence[Any],
            types: Sequence[str] = ()) -> CursorResult:
    """Run `sql` (PostgreSQL, placeholders `$1`..`$n`, each of `types` the type of the placeholder of its
    position) with `parameters` on `connection` (from `autocommit`): EXECUTE of the statement PREPAREd under
    `name` on that connection, prepared first when it is not yet; plain SQL when this process found that
    its connections do not keep prepared statements. Raises SQLAlchemy's error of the statement."""
    if _state["preparing"]:
        key = f"{name}_{hashlib.sha1(sql.encode()).hexdigest()[:10]}"
        prepared = connection.info.setdefault(_PREPARED_KEY, set())
        try:
            if key not in prepared:
                declared = f" ({', '.join(types)})" if types else ""
                # psycopg2 formats the text with the driver's (empty) parameters: a `%` of the SQL is `%%`.
                connection.exec_driver_sql(f"PREPARE {key}{declared} AS {sql.replace('%', '%%')}")
                prepared.add(key)
            return connection.exec_driver_sql(f"EXECUTE {key} ({', '.join(['%s'] * len(parameters))})",
                                              tuple(parameters))
        except DBAPIError as exc:
            if getattr(exc.orig, "pgcode", None) not in NOT_KEPT:
                raise
            _state["preparing"] = False
            connection.info.pop(_PREPARED_KEY, None)
            log.warning("the database connections do not keep prepared statements (a pooler in transaction "
                        "mode?): hot-path statements are sent unprepared from now on",
                        extra={"error": getattr(exc.orig, "pgcode", None)})
    return connection.exec_driver_sql(*_plain(sql, parameters, types))


def _plain(sql: str, parameters: Sequence[Any], types: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """`sql` with each `$n` as psycopg2's `%(pn)s` (cast to its declared type), and the parameters by name."""
    def named(match: re.Match) -> str:
        number = int(match.group(1))
        cast = f"::{types[number - 1]}" if number <= len(types) else ""
        return f"(%(p{number})s{cast})"

    return (_PLACEHOLDER.sub(named, sql.replace("%", "%%")),
            {f"p{number}": value for number, value in enumerate(parameters, start=1)})
