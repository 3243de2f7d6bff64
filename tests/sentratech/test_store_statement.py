"""The PostgreSQL path of a new form: the record and its sync message in one autocommit statement."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.sentratech import jobs
from modules.sentratech.forms import FORMS
from tests.support.sentratech import INGEST_HEADERS, valid_body
from tests.support.worker import Drainer

pytestmark = pytest.mark.postgres_only

REFUSE_SYNC_MESSAGES = """
CREATE FUNCTION refuse_sync_message() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'refused by the test'; END $$;
CREATE TRIGGER refuse_sync_message BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_sync_message();
"""
ALLOW_SYNC_MESSAGES = "DROP TRIGGER refuse_sync_message ON outbox; DROP FUNCTION refuse_sync_message();"


def post(app, form):
    return app.test_client().post(f"/api/ingest/{form}", json=valid_body(form), headers=INGEST_HEADERS)


def test_records_and_their_messages_are_stored_together_and_delivered(dashboard_app, httpserver):
    httpserver.expect_request("/api/auth/login", method="POST").respond_with_json({"access_token": "t"})
    httpserver.expect_request("/v1/demo_requests", method="POST").respond_with_json({"ok": True}, status=201)
    ids = [post(dashboard_app, "demo_requests").get_json()["id"] for _ in range(3)]  # the prepared statement reused

    with dashboard_app.app_context():
        messages = db.session.execute(select(OutboxMessage.kind, OutboxMessage.payload, OutboxMessage.subject_id,
                                             OutboxMessage.status, OutboxMessage.attempts)).all()
        assert sorted(messages) == sorted((jobs.SYNC_KIND, {"form": "demo_requests"}, record_id, "pending", 0)
                                          for record_id in ids)
        record = db.session.get(FORMS["demo_requests"].model, ids[0])
        assert (record.revision, record.sync_status, record.sync_error) == (1, "pending_dashboard_sync", None)

    Drainer(dashboard_app).drain()  # runs only what the ingest queued in Redis: the drain it asked for
    keys = sorted(request.headers["Idempotency-Key"] for request, _ in httpserver.log
                  if request.path == "/v1/demo_requests")
    assert keys == sorted(f"{record_id}:1" for record_id in ids)


def test_a_failing_statement_stores_neither_the_record_nor_its_message(dashboard_app):
    with dashboard_app.app_context():
        db.session.execute(text(REFUSE_SYNC_MESSAGES))
        db.session.commit()
    try:
        assert post(dashboard_app, "contact_requests").status_code >= 500
    finally:
        with dashboard_app.app_context():
            db.session.execute(text(ALLOW_SYNC_MESSAGES))
            db.session.commit()
    with dashboard_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FORMS["contact_requests"].model)) == 0
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert post(dashboard_app, "contact_requests").status_code == 200
