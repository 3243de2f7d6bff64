"""What the outbox keeps and what it tells: retention of delivered messages, /health's backlog through the
index, and a subject's trace with every attempt and what the peer said."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from modules.core import outbox
from modules.core.extensions import db
from modules.core.models import OutboxAttempt, OutboxMessage
from modules.core.scheduler import registered_jobs
from modules.core.types import new_id, utcnow
from tests.support.handlers import KIND
from tests.support.sql import statements

DAY = timedelta(days=1)


def put(app, count, status, age, subject_id="subject-1"):
    """`count` messages of `status` created `age` ago (a delivered one delivered then, a second later), each
    with one attempt. Returns their ids."""
    created = utcnow() - age
    rows = [{"id": new_id(), "kind": KIND, "subject_id": subject_id, "payload": {}, "status": status,
             "attempts": 1, "next_attempt_at": created, "created_at": created, "updated_at": created,
             "delivered_at": created + timedelta(seconds=1) if status == "delivered" else None}
            for _ in range(count)]
    with app.app_context():
        db.session.execute(insert(OutboxMessage), rows)
        db.session.execute(insert(OutboxAttempt), [
            {"outbox_id": row["id"], "number": 1, "started_at": created, "finished_at": created,
             "outcome": "delivered" if status == "delivered" else "retry", "status_code": 200} for row in rows])
        db.session.commit()
    return [row["id"] for row in rows]


def remaining(app):
    with app.app_context():
        messages = set(db.session.scalars(select(OutboxMessage.id)))
        attempts = set(db.session.scalars(select(OutboxAttempt.outbox_id)))
    return messages, attempts


def test_retention_deletes_old_delivered_messages_and_their_attempts_in_batches_and_nothing_else(make_app):
    app = make_app(OUTBOX_RETENTION_BATCH=3, OUTBOX_RETENTION_DAYS=30)
    old = put(app, 10, "delivered", 31 * DAY)
    kept = put(app, 2, "delivered", 29 * DAY) + put(app, 1, "pending", 60 * DAY) + put(app, 1, "dead", 60 * DAY)
    with app.app_context(), statements(app) as seen:
        assert outbox.purge_delivered() == 10
    deletes = [s.split(" WHERE")[0] for s in seen if s.startswith(("DELETE", "COMMIT"))]
    assert deletes == ["DELETE FROM outbox_attempt", "DELETE FROM outbox", "COMMIT"] * 4, \
        "batches of 3, 3, 3 and 1, each its own transaction"
    messages, attempts = remaining(app)
    assert messages == attempts == set(kept), "the old rows' attempts went with them"
    assert not set(old) & messages


def test_a_retention_run_is_bounded_and_the_next_run_takes_the_rest(make_app):
    app = make_app(OUTBOX_RETENTION_BATCH=3)
    put(app, 10, "delivered", 40 * DAY)
    with app.app_context():
        assert outbox.purge_delivered(max_batches=2) == 6
        assert outbox.expired_count() == 4
        assert outbox.purge_delivered(max_batches=2) == 4
        assert outbox.expired_count() == 0


def test_retention_zero_keeps_everything(make_app):
    app = make_app(OUTBOX_RETENTION_DAYS=0)
    ids = put(app, 2, "delivered", 400 * DAY)
    with app.app_context():
        assert outbox.purge_delivered() == 0 and outbox.expired_count() == 0
    assert remaining(app)[0] == set(ids)


def test_retention_is_a_periodic_job_and_a_command(app, runner):
    with app.app_context():
        assert "outbox.retention" in {job.id for job in registered_jobs()}
    put(app, 2, "delivered", 31 * DAY)
    kept = put(app, 1, "delivered", DAY)
    preview = runner.invoke(args=["outbox", "purge-delivered", "--dry-run"])
    assert "would delete 2 delivered message(s)" in preview.output
    assert "deleted 2 delivered message(s)" in runner.invoke(args=["outbox", "purge-delivered"]).output
    assert remaining(app)[0] == set(kept)


def test_health_counts_pending_and_dead_by_status_without_grouping_the_table(app, client):
    put(app, 2, "pending", DAY)
    put(app, 1, "dead", DAY)
    put(app, 3, "delivered", DAY)
    with statements(app) as seen:
        body = client.get("/health").get_json()
    assert body["outbox"] == {"pending": 2, "dead": 1}
    counts = [s for s in seen if re.search(r"FROM outbox(\s|$)", s)]  # not outbox_destination (/health's alerts)
    assert len(counts) == 2 and all("WHERE outbox.status =" in s and "GROUP BY" not in s for s in counts)


def test_a_subjects_trace_shows_every_attempt_with_what_the_peer_said(app, client, worker, httpserver, runner,
                                                                        operator_headers):
    httpserver.expect_oneshot_request("/hook").respond_with_data("partner down", status=503)
    httpserver.expect_oneshot_request("/hook").respond_with_data("missing field: email", status=400)
    with app.app_context():
        message_id = outbox.add(KIND, {"url": httpserver.url_for("/hook"), "body": {}}, subject_id="lead-7")
        db.session.commit()
    worker.drain()
    with app.app_context():
        outbox.sweep(now=utcnow() + timedelta(seconds=45))
    worker.drain()
    put(app, 1, "delivered", DAY, subject_id="lead-8")

    answer = client.get("/api/admin/outbox/subjects/lead-7", headers=operator_headers).get_json()
    assert (answer["subject_id"], answer["total"]) == ("lead-7", 1)
    [message] = answer["messages"]
    assert (message["id"], message["status"], message["destination"]) == (message_id, "dead", KIND)
    assert [(a["number"], a["outcome"], a["status_code"], a["error"]) for a in message["attempt_log"]] == [
        (1, "retry", 503, "HTTP 503: partner down"), (2, "dead", 400, "HTTP 400: missing field: email")]
    one = client.get(f"/api/admin/outbox/messages/{message_id}", headers=operator_headers).get_json()
    assert one == message
    shown = runner.invoke(args=["outbox", "show", "lead-7"]).output
    assert "HTTP 400: missing field: email" in shown and "#2" in shown
    assert "HTTP 503: partner down" in runner.invoke(args=["outbox", "show", message_id]).output
    nobody = client.get("/api/admin/outbox/subjects/nobody", headers=operator_headers).get_json()
    assert (nobody["total"], nobody["messages"]) == (0, [])


def test_an_unknown_message_is_a_404_in_the_core_envelope(client, runner, operator_headers):
    response = client.get("/api/admin/outbox/messages/no-such-id", headers=operator_headers)
    assert response.status_code == 404 and response.get_json() == {"detail": "no outbox message has this id"}
    result = runner.invoke(args=["outbox", "show", "no-such-id"])
    assert result.exit_code != 0 and "no message has the id or the subject" in result.output


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/admin/outbox"), ("GET", "/api/admin/outbox/stats"), ("POST", "/api/admin/outbox/replay"),
    ("POST", "/api/admin/outbox/purge"), ("GET", "/api/admin/outbox/subjects/lead-7"),
    ("GET", "/api/admin/outbox/messages/some-id"),
])
def test_every_outbox_admin_endpoint_needs_an_operator(app, client, method, path):
    ids = put(app, 1, "dead", DAY)
    response = client.open(path, method=method, json={"all": True})
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Invalid authentication credentials"}
    assert remaining(app)[0] == set(ids)
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(OutboxMessage.status == "dead")) == 1
