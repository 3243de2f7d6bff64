"""Operators see and steer destinations and kinds through the admin API and `flask outbox ...`: pause, resume,
close a breaker, each kind's retry policy; every action audited, held messages delivered after."""

import pytest
from sqlalchemy import select

from modules.core import outbox
from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxMessage
from tests.support.handlers import KIND
from tests.support.worker import Drainer

DESTINATIONS = "/api/admin/outbox/destinations"


def add(app, url):
    with app.app_context():
        message_id = outbox.add(KIND, {"url": url, "body": {}}, subject_id="form-1")
        db.session.commit()
        return message_id


def status(app, message_id):
    with app.app_context():
        return db.session.get(OutboxMessage, message_id).status


def audited(app, event):
    with app.app_context():
        return [(entry.actor, entry.subject_id) for entry in
                db.session.scalars(select(AuditEntry).where(AuditEntry.event == event))]


def test_an_operator_pauses_and_resumes_a_destination_through_the_api(app, client, worker, httpserver,
                                                                       operator_headers):
    httpserver.expect_request("/hook").respond_with_json({})
    listed = client.get(DESTINATIONS, headers=operator_headers).get_json()["destinations"]
    assert {(d["name"], d["state"], tuple(d["kinds"])) for d in listed} >= {(KIND, "active", (KIND,))}

    paused = client.post(f"{DESTINATIONS}/{KIND}/pause", json={"reason": "partner maintenance until 14:00"},
                         headers=operator_headers)
    assert paused.status_code == 200
    body = paused.get_json()
    assert (body["state"], body["reason"]) == ("paused", "partner maintenance until 14:00")
    assert body["paused_by"].startswith("operator:") and body["since"]
    assert audited(app, "outbox.destination_paused") == [(body["paused_by"], KIND)]
    message_id = add(app, httpserver.url_for("/hook"))
    worker.drain()
    assert (httpserver.log, status(app, message_id)) == ([], "pending"), "a paused destination's messages wait"
    shown = client.get(f"{DESTINATIONS}/{KIND}", headers=operator_headers).get_json()
    assert (shown["state"], shown["pending"]) == ("paused", 1)

    resumed = client.post(f"{DESTINATIONS}/{KIND}/resume", headers=operator_headers).get_json()
    assert (resumed["state"], resumed["reason"], resumed["paused_by"]) == ("active", None, None)
    worker.drain()
    assert status(app, message_id) == "delivered" and len(httpserver.log) == 1
    assert [subject for _, subject in audited(app, "outbox.destination_resumed")] == [KIND]


def test_an_operator_closes_an_open_breaker_and_the_backlog_goes(make_app, httpserver, operator_headers):
    app = make_app(OUTBOX_BREAKER_THRESHOLD=1, OUTBOX_BREAKER_COOLDOWN_SECONDS=3600)
    client = app.test_client()
    httpserver.expect_oneshot_request("/hook").respond_with_data("overloaded", status=503)
    httpserver.expect_request("/hook").respond_with_json({})
    first = add(app, httpserver.url_for("/hook"))
    Drainer(app).drain()
    opened = client.get(f"{DESTINATIONS}/{KIND}", headers=operator_headers).get_json()
    assert (opened["state"], opened["failures"], opened["last_error"]) == ("open", 1, "HTTP 503: overloaded")
    assert opened["retry_at"] and "circuit breaker open" in opened["reason"]

    closed = client.post(f"{DESTINATIONS}/{KIND}/close-breaker", headers=operator_headers).get_json()
    assert (closed["state"], closed["failures"], closed["retry_at"]) == ("active", 0, None)
    second = add(app, httpserver.url_for("/hook"))
    Drainer(app).drain()
    assert status(app, second) == "delivered" and status(app, first) == "pending", \
        "the failed message keeps its own retry time"
    assert [subject for _, subject in audited(app, "outbox.breaker_closed")] == [KIND]


@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/pause"), ("POST", "/resume"),
                                                ("POST", "/close-breaker")])
def test_an_unknown_destination_is_a_404_in_the_core_envelope(client, operator_headers, method, suffix):
    response = client.open(f"{DESTINATIONS}/nowhere{suffix}", method=method, json={}, headers=operator_headers)
    assert response.status_code == 404
    assert response.get_json() == {"detail": "No destination named 'nowhere'; `flask outbox destinations` lists them."}


def test_a_pause_reason_is_kept_whole_or_refused(app, client, operator_headers):
    response = client.post(f"{DESTINATIONS}/{KIND}/pause", json={"reason": "x" * 501}, headers=operator_headers)
    assert response.status_code == 422
    assert client.get(f"{DESTINATIONS}/{KIND}", headers=operator_headers).get_json()["state"] == "active"
    assert client.post(f"{DESTINATIONS}/{KIND}/pause", json={}, headers=operator_headers).get_json()["state"] == \
        "paused", "a reason is optional"


@pytest.mark.parametrize("reason", ["relay\x00moving", "\ud800"])
def test_a_pause_reason_the_database_cannot_store_is_refused(client, operator_headers, reason):
    response = client.post("/api/admin/outbox/destinations/smtp/pause", headers=operator_headers,
                           json={"reason": reason})
    assert response.status_code == 422, response.get_json()
    state = client.get("/api/admin/outbox/destinations/smtp", headers=operator_headers).get_json()
    assert state["state"] == "active", "a refused pause stores nothing"


def test_a_blank_pause_reason_is_none_and_the_cli_refuses_a_long_one(client, runner, operator_headers):
    paused = client.post("/api/admin/outbox/destinations/smtp/pause", headers=operator_headers,
                         json={"reason": "   "}).get_json()
    assert paused["reason"] == "paused by an operator"
    result = runner.invoke(args=["outbox", "pause", "arkesel", "--reason", "x" * 501])
    assert result.exit_code == 1 and "at most 500" in result.output
    arkesel = client.get("/api/admin/outbox/destinations/arkesel", headers=operator_headers).get_json()
    assert arkesel["state"] == "active"


def test_kinds_show_their_destination_policy_and_state(make_app, operator_headers):
    app = make_app(OUTBOX_BACKOFF_TEST_WEBHOOK="5,7,9")
    client = app.test_client()
    client.post(f"{DESTINATIONS}/{KIND}/pause", json={}, headers=operator_headers)
    kinds = {kind["kind"]: kind for kind in client.get("/api/admin/outbox/kinds", headers=operator_headers)
             .get_json()["kinds"]}
    assert kinds[KIND] == {"kind": KIND, "destination": KIND, "backoff": [5, 7, 9], "attempts": 4,
                           "backoff_setting": "OUTBOX_BACKOFF_TEST_WEBHOOK", "backoff_from": "setting",
                           "breaker_threshold": 10, "breaker_cooldown_seconds": 60, "state": "paused"}
    assert kinds["sentratech.dashboard_sync"]["destination"] == "dashboard"
    assert kinds["sentratech.dashboard_sync"]["backoff_from"] == "code"


def test_the_destination_commands(app, runner, worker, httpserver):
    httpserver.expect_request("/hook").respond_with_json({})
    listed = runner.invoke(args=["outbox", "destinations"]).output
    assert listed.splitlines()[0].split()[:3] == ["destination", "state", "since"]
    assert any(line.split()[:2] == [KIND, "active"] for line in listed.splitlines())

    paused = runner.invoke(args=["outbox", "pause", KIND, "--reason", "smtp relay moving"])
    assert paused.exit_code == 0 and f"{KIND}: paused (smtp relay moving, by cli)" in paused.output
    message_id = add(app, httpserver.url_for("/hook"))
    worker.drain()
    assert status(app, message_id) == "pending"
    assert "smtp relay moving" in runner.invoke(args=["outbox", "destinations"]).output
    assert f"{KIND}: active" in runner.invoke(args=["outbox", "resume", KIND]).output
    worker.drain()
    assert status(app, message_id) == "delivered"
    assert f"{KIND}: active" in runner.invoke(args=["outbox", "close-breaker", KIND]).output
    assert audited(app, "outbox.destination_paused") == [("cli", KIND)]

    unknown = runner.invoke(args=["outbox", "pause", "nowhere"])
    assert unknown.exit_code != 0 and "No destination named 'nowhere'" in unknown.output
    kinds = runner.invoke(args=["outbox", "kinds"]).output.splitlines()
    assert kinds[0].split()[:4] == ["kind", "destination", "backoff", "attempts"]
    [row] = [line for line in kinds if line.startswith(KIND)]
    assert row.split()[:4] == [KIND, KIND, "10,60", "3"] and row.split()[-1] == "active"


@pytest.mark.parametrize("command", ["destinations", "pause", "resume", "close-breaker", "kinds", "replay", "purge",
                                     "purge-delivered", "show", "list"])
def test_every_outbox_command_explains_itself(runner, command):
    result = runner.invoke(args=["outbox", command, "--help"])
    assert result.exit_code == 0 and len(result.output.split("Options:")[0].split()) > 8


@pytest.mark.parametrize(("method", "path"), [
    ("GET", DESTINATIONS), ("GET", f"{DESTINATIONS}/{KIND}"), ("POST", f"{DESTINATIONS}/{KIND}/pause"),
    ("POST", f"{DESTINATIONS}/{KIND}/resume"), ("POST", f"{DESTINATIONS}/{KIND}/close-breaker"),
    ("GET", "/api/admin/outbox/kinds"),
])
def test_every_destination_endpoint_needs_an_operator(app, client, method, path):
    response = client.open(path, method=method, json={"reason": "not yours"})
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Invalid authentication credentials"}
    with app.app_context():
        assert outbox.control.state(KIND)["state"] == "active"
        assert db.session.scalar(select(AuditEntry.id)) is None
