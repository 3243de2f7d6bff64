"""Hot-path statements PREPAREd per pooled connection (modules/core/prepared.py) still run when the server
connection does not keep them, as behind PgBouncer in transaction mode: the statement is sent unprepared,
and nothing is lost or written twice."""

from __future__ import annotations

import hashlib

import pytest

from modules.core import prepared
from tests.support.link_tracking import BATCH_PATH, TRACKING_KEY

SQL = "SELECT $1::int + $2, '100%' AS literal"


@pytest.fixture
def preparing():
    yield
    prepared._state["preparing"] = True  # the process-wide choice, as a new process starts


@pytest.mark.postgres_only
def test_a_statement_whose_prepared_copy_is_gone_is_sent_unprepared(app, preparing, caplog):
    with app.app_context(), prepared.autocommit() as connection:
        assert tuple(prepared.execute(connection, "probe", SQL, (40, 2), types=("int", "int")).one()) == (42, "100%")
        # A pooler gives the next transaction another server connection: what was PREPAREd is not there.
        connection.exec_driver_sql("DEALLOCATE ALL")
        assert tuple(prepared.execute(connection, "probe", SQL, (1, 2), types=("int", "int")).one()) == (3, "100%")
        assert prepared._state["preparing"] is False
        prepared_now = connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()
        assert tuple(prepared.execute(connection, "probe", SQL, (5, 5), types=("int", "int")).one()) == (10, "100%")
        assert connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar() == prepared_now == 0
    assert "do not keep prepared statements" in caplog.text


@pytest.mark.postgres_only
def test_a_name_prepared_by_another_client_on_the_same_server_connection_is_not_reused(app, preparing):
    with app.app_context(), prepared.autocommit() as connection:
        key = f"probe_{hashlib.sha1(SQL.encode()).hexdigest()[:10]}"
        connection.exec_driver_sql(f"PREPARE {key} AS SELECT 0, 'another client'")  # not in this pool's memory
        assert tuple(prepared.execute(connection, "probe", SQL, (2, 2), types=("int", "int")).one()) == (4, "100%")
        connection.exec_driver_sql("DEALLOCATE ALL")


@pytest.mark.postgres_only
def test_a_click_batch_is_stored_once_after_its_prepared_statement_is_gone(app, client, preparing):
    body = {"events": [{"event_id": "evt-prepared-1", "tracking_id": "prepared-link", "click_source": "email"}]}
    assert client.post(BATCH_PATH, json=body, headers={"X-API-Key": TRACKING_KEY}).status_code == 200
    with app.app_context(), prepared.autocommit() as connection:
        connection.exec_driver_sql("DEALLOCATE ALL")
    body["events"].append({"event_id": "evt-prepared-2", "tracking_id": "prepared-link", "click_source": "email"})
    assert client.post(BATCH_PATH, json=body, headers={"X-API-Key": TRACKING_KEY}).status_code == 200
    with app.app_context(), prepared.autocommit() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM link_clicks WHERE tracking_id = 'prepared-link'") \
            .scalar() == 2
