"""Bulk re-sync: `flask sentratech resync` and POST /api/admin/sentratech/resync; the failed list."""

from __future__ import annotations

import pytest
from sqlalchemy import event, insert, select

from modules.core import auth
from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxMessage
from modules.core.paging import MAX_OFFSET
from modules.core.types import new_id, utcnow
from modules.sentratech.models import DemoRequest
from tests.support.sentratech import INGEST_HEADERS, valid_body
from tests.support.worker import Drainer

RESYNC = "/api/admin/sentratech/resync"


def fail_records(app, httpserver, forms):
    """Store one record per form and let the dashboard refuse each (400): they end sync_failed."""
    for form in forms:
        httpserver.expect_oneshot_request(f"/v1/{form}").respond_with_json({"detail": "no"}, status=400)
    ids = [app.test_client().post(f"/api/ingest/{form}", json=valid_body(form), headers=INGEST_HEADERS)
           .get_json()["id"] for form in forms]
    Drainer(app).drain()
    return ids


def stored(app, column, *where) -> list:
    """The sorted values of `column` in the rows that match `where`."""
    with app.app_context():
        return sorted(db.session.scalars(select(column).where(*where)))


@pytest.fixture
def no_auth_dashboard(make_app, httpserver):
    return make_app(DASHBOARD_BASE_URL=httpserver.url_for("/"))


def test_cli_resyncs_only_the_failed_records_and_they_end_synced(no_auth_dashboard, httpserver):
    app = no_auth_dashboard
    [failed] = fail_records(app, httpserver, ["demo_requests"])
    httpserver.expect_request("/v1/demo_requests").respond_with_json({}, status=201)
    synced = app.test_client().post("/api/ingest/demo_requests", json=valid_body("demo_requests"),
                                    headers=INGEST_HEADERS).get_json()["id"]
    Drainer(app).drain()

    result = app.test_cli_runner().invoke(args=["sentratech", "resync", "--only-failed"])
    assert result.exit_code == 0, result.output
    assert "Queueing records" in result.output and "queued 1 record(s)" in result.output
    Drainer(app).drain()
    keys = [r.headers["Idempotency-Key"] for r, _ in httpserver.log]
    assert keys == [f"{failed}:1", f"{synced}:1", f"{failed}:1"], "a re-sync sends the same version's key"
    assert stored(app, DemoRequest.id, DemoRequest.sync_status == "synced_to_dashboard") == sorted([failed, synced])


def test_cli_resync_of_one_form_leaves_the_others(no_auth_dashboard, httpserver):
    app = no_auth_dashboard
    [demo_request, _] = fail_records(app, httpserver, ["demo_requests", "subscriptions"])
    result = app.test_cli_runner().invoke(args=["sentratech", "resync", "--type", "subscriptions"])
    assert "queued 1 record(s)" in result.output
    again = app.test_cli_runner().invoke(args=["sentratech", "resync", "--type", "subscriptions"])
    assert "queued 0 record(s)" in again.output, "a record waiting for delivery is not queued twice"
    assert stored(app, DemoRequest.id, DemoRequest.sync_status == "sync_failed") == [demo_request]


def test_cli_resync_needs_a_dashboard(runner):
    result = runner.invoke(args=["sentratech", "resync"])
    assert result.exit_code == 1
    assert "DASHBOARD_BASE_URL is not set" in result.output


def test_cli_help_explains_the_options(runner):
    result = runner.invoke(args=["sentratech", "resync", "--help"])
    assert "--only-failed" in result.output and "--type" in result.output and "subscriptions" in result.output


def test_cli_status_prints_counts_per_form(app, client, runner):
    client.post("/api/ingest/roi_reports", json=valid_body("roi_reports"), headers=INGEST_HEADERS)
    assert "roi_reports        total=1        pending=1" in runner.invoke(args=["sentratech", "status"]).output


def test_a_bulk_resync_queues_in_batches(no_auth_dashboard):
    app = no_auth_dashboard
    now = utcnow()
    rows = [{**valid_body("demo_requests"), "id": new_id(), "sync_status": "sync_failed", "created_at": now,
             "updated_at": now} for _ in range(1200)]
    with app.app_context():
        db.session.execute(insert(DemoRequest), rows)
        db.session.commit()
    outbox_inserts = []

    def count_outbox_inserts(_connection, _cursor, statement, *_args):
        if statement.startswith("INSERT INTO outbox "):
            outbox_inserts.append(statement)

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count_outbox_inserts)
    result = app.test_cli_runner().invoke(args=["sentratech", "resync", "--batch-size", "500"])
    assert "queued 1200 record(s)" in result.output
    assert len(outbox_inserts) == 3  # one statement per batch (multi-row on PostgreSQL), not one per record
    queued = sorted(row["id"] for row in rows)
    assert stored(app, OutboxMessage.subject_id, OutboxMessage.kind == "sentratech.dashboard_sync") == queued
    assert stored(app, DemoRequest.id, DemoRequest.sync_status == "pending_dashboard_sync") == queued
    with app.app_context():
        batches = db.session.scalars(select(AuditEntry.details).where(AuditEntry.event == "demo_requests.resync")
                                     ).all()
    assert sorted(entry["queued"] for entry in batches) == [200, 500, 500]


@pytest.mark.parametrize("headers", [{}, INGEST_HEADERS, {"Authorization": "Bearer not-a-token"}])
def test_the_admin_resync_needs_an_operator(client, headers):
    response = client.post(RESYNC, json={}, headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Invalid authentication credentials"}


def test_the_admin_resync_answers_how_many_were_queued(no_auth_dashboard, httpserver, operator_headers):
    app = no_auth_dashboard
    fail_records(app, httpserver, ["contact_requests", "roi_reports"])
    client = app.test_client()
    response = client.post(RESYNC, json={"type": "roi_reports", "only_failed": True}, headers=operator_headers)
    assert (response.status_code, response.get_json()) == (200, {"queued": 1})
    assert client.post(RESYNC, json={}, headers=operator_headers).get_json() == {"queued": 1}
    with app.app_context():
        operator = auth.find_operator("operator@example.com")
        actors = db.session.scalars(select(AuditEntry.actor).where(AuditEntry.event.like("%.resync"))).all()
    assert actors == [f"operator:{operator.id}"] * 2, "the audit names the operator who asked"


def test_a_cli_resync_is_audited_as_the_cli(no_auth_dashboard, httpserver):
    app = no_auth_dashboard
    fail_records(app, httpserver, ["roi_reports"])
    assert "queued 1 record(s)" in app.test_cli_runner().invoke(args=["sentratech", "resync"]).output
    with app.app_context():
        assert db.session.scalars(select(AuditEntry.actor).where(AuditEntry.event == "roi_reports.resync")
                                  ).all() == ["cli"]


def test_the_admin_resync_refuses_without_a_dashboard_and_validates(client, operator_headers):
    response = client.post(RESYNC, json={}, headers=operator_headers)
    assert response.status_code == 409
    assert response.get_json() == {"detail": "DASHBOARD_BASE_URL is not set: records stay pending until it is"}
    bad = client.post(RESYNC, json={"type": "newsletters", "only_failed": "maybe"}, headers=operator_headers)
    assert bad.status_code == 422
    assert sorted(item["loc"] for item in bad.get_json()["detail"]) == [["body", "only_failed"], ["body", "type"]]


def test_the_failed_list_shows_ids_states_and_errors_but_no_content(no_auth_dashboard, httpserver,
                                                                     operator_headers):
    app = no_auth_dashboard
    ids = fail_records(app, httpserver, ["demo_requests", "subscriptions"])
    client = app.test_client()
    assert client.get("/api/admin/sentratech/records").status_code == 401
    page = client.get("/api/admin/sentratech/records", headers=operator_headers).get_json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    assert sorted((r["id"], r["type"]) for r in page["records"]) == sorted(
        [(ids[0], "demo_requests"), (ids[1], "subscriptions")])
    assert all(r["sync_status"] == "sync_failed" and r["sync_error"].startswith("HTTP 400") for r in page["records"])
    assert b"example.com" not in client.get("/api/admin/sentratech/records", headers=operator_headers).data
    only_demo = client.get("/api/admin/sentratech/records?type=demo_requests&limit=1",
                           headers=operator_headers).get_json()
    assert [r["id"] for r in only_demo["records"]] == [ids[0]]


def test_the_failed_list_pages_up_to_the_hubs_maximum_offset(client, operator_headers):
    records = "/api/admin/sentratech/records"
    deep = client.get(f"{records}?offset={MAX_OFFSET}", headers=operator_headers)
    assert (deep.status_code, deep.get_json()["offset"], deep.get_json()["records"]) == (200, MAX_OFFSET, [])
    too_deep = client.get(f"{records}?offset={MAX_OFFSET + 1}&limit=201", headers=operator_headers)
    assert too_deep.status_code == 422
    assert sorted(item["loc"] for item in too_deep.get_json()["detail"]) == [["query", "limit"], ["query", "offset"]]
