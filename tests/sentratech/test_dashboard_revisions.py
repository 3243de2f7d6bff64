"""Every version of a record reaches a dashboard that, like Stripe, replays its stored answer for an
Idempotency-Key it knows: the key is `<record id>:<revision>`, and body and key always describe the same
revision."""

from __future__ import annotations

import json
import threading

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from modules.core import outbox
from modules.core.extensions import db
from tests.sentratech.test_dashboard_sync import expect_login, ingest, record, sweep_at, sync_messages
from tests.support.worker import Drainer


class IdempotentDashboard:
    """The dashboard's /v1/subscriptions as a Stripe-style server: the first request with a key is
    executed and its answer stored; a later one with the same key gets the stored answer replayed (a
    different body under a known key is refused with 422, as Stripe does). `state` is what the dashboard
    holds per record id. `answers` may give the status of a key's next attempts (a 5xx is not stored);
    `before_answer(key)` runs while a request waits for its answer."""

    def __init__(self):
        self.state: dict[str, dict] = {}
        self.stored: dict[str, tuple[dict, int, str]] = {}
        self.requests: list[tuple[str, dict, int]] = []
        self.answers: dict[str, list[int]] = {}
        self.before_answer = lambda key: None
        self._lock = threading.Lock()

    def __call__(self, request: Request) -> Response:
        key, body = request.headers["Idempotency-Key"], request.get_json()
        self.before_answer(key)
        with self._lock:
            status, answer = self._answer(key, body)
            self.requests.append((key, body, status))
        return Response(answer, status=status, content_type="application/json")

    def _answer(self, key: str, body: dict) -> tuple[int, str]:
        if key in self.stored:
            stored_body, status, answer = self.stored[key]
            if stored_body != body:
                return 422, '{"error": "Keys for idempotent requests can only be used with the same parameters"}'
            return status, answer
        planned = self.answers.get(key)
        status = planned.pop(0) if planned else 201
        answer = json.dumps({"id": body["id"], "status": body["status"]})
        if status < 500:
            if status < 300:
                self.state[body["id"]] = body
            self.stored[key] = (body, status, answer)
        return status, answer

    def keys(self) -> list[str]:
        return [key for key, _, _ in self.requests]


@pytest.fixture
def dashboard(httpserver):
    peer = IdempotentDashboard()
    expect_login(httpserver)
    httpserver.expect_request("/v1/subscriptions", method="POST").respond_with_handler(peer)
    return peer


def test_subscribe_deliver_unsubscribe_deliver_ends_unsubscribed(dashboard_app, dashboard, httpserver):
    worker = Drainer(dashboard_app)
    record_id = ingest(dashboard_app, "subscriptions", status="subscribed")
    worker.drain()
    assert dashboard.state[record_id]["status"] == "subscribed"
    assert ingest(dashboard_app, "subscriptions", status="unsubscribed") == record_id
    worker.drain()

    assert dashboard.state[record_id]["status"] == "unsubscribed"
    assert dashboard.keys() == [f"{record_id}:1", f"{record_id}:2"]
    stored = record(dashboard_app, "subscriptions", record_id)
    assert (stored.revision, stored.sync_status) == (2, "synced_to_dashboard")


def test_two_changes_before_the_worker_runs_send_the_latest_under_its_own_key(dashboard_app, dashboard):
    record_id = ingest(dashboard_app, "subscriptions", status="subscribed", source="landing")
    ingest(dashboard_app, "subscriptions", status="unsubscribed")
    ingest(dashboard_app, "subscriptions", source="newsletter_footer", status="unsubscribed")
    assert len(sync_messages(dashboard_app)) == 3
    Drainer(dashboard_app).drain()

    assert {key for key, _, _ in dashboard.requests} == {f"{record_id}:3"}
    assert [status for _, _, status in dashboard.requests] == [201, 201, 201], "first executed, then replayed"
    assert dashboard.state[record_id] | {"created_at": None} == {
        "id": record_id, "email": "reader@example.com", "source": "newsletter_footer", "status": "unsubscribed",
        "created_at": None}
    assert record(dashboard_app, "subscriptions", record_id).sync_status == "synced_to_dashboard"


def test_a_delivery_of_an_older_revision_does_not_mark_a_newer_one_synced(dashboard_app, dashboard):
    """While revision 1 is on its way, the subscriber unsubscribes: revision 1's success must leave the
    record waiting for revision 2, which the dashboard first answers with a 503."""
    record_id = ingest(dashboard_app, "subscriptions", status="subscribed")

    def unsubscribe_during_first_delivery(key):
        if key == f"{record_id}:1":
            ingest(dashboard_app, "subscriptions", status="unsubscribed")

    dashboard.before_answer = unsubscribe_during_first_delivery
    dashboard.answers[f"{record_id}:2"] = [503]
    Drainer(dashboard_app).drain()
    assert [(key, body["status"], status) for key, body, status in dashboard.requests] == [
        (f"{record_id}:1", "subscribed", 201), (f"{record_id}:2", "unsubscribed", 503)]
    stored = record(dashboard_app, "subscriptions", record_id)
    assert (stored.revision, stored.sync_status) == (2, "pending_dashboard_sync")

    assert sweep_at(dashboard_app, 45) == 1
    Drainer(dashboard_app).drain()
    assert dashboard.state[record_id]["status"] == "unsubscribed"
    assert record(dashboard_app, "subscriptions", record_id).sync_status == "synced_to_dashboard"


def test_a_late_refusal_of_an_older_revision_does_not_fail_a_synced_newer_one(make_app):
    """Revision 1's delivery waits for its answer while revision 2 is stored and delivered; revision 1 is
    then refused (400): the record stays synced, its current revision is on the dashboard."""
    with HTTPServer(threaded=True) as peer_server:
        arrived, release = threading.Event(), threading.Event()
        dashboard = IdempotentDashboard()
        app = make_app(DASHBOARD_BASE_URL=peer_server.url_for("/"))
        peer_server.expect_request("/v1/subscriptions").respond_with_handler(dashboard)
        record_id = ingest(app, "subscriptions", status="subscribed")
        dashboard.answers[f"{record_id}:1"] = [400]

        def hold_revision_1(key):
            if key.endswith(":1"):
                arrived.set()
                release.wait(30)

        dashboard.before_answer = hold_revision_1
        [first] = sync_messages(app)

        def deliver(message_id):
            with app.app_context():
                outbox.deliver(message_id)
                db.session.remove()

        older = threading.Thread(target=deliver, args=(first.id,))
        older.start()
        assert arrived.wait(30), "revision 1 is on its way"
        ingest(app, "subscriptions", status="unsubscribed")
        [second] = [message for message in sync_messages(app) if message.id != first.id]
        deliver(second.id)
        assert record(app, "subscriptions", record_id).sync_status == "synced_to_dashboard"
        release.set()
        older.join(30)

    assert [(key, status) for key, _, status in dashboard.requests] == [
        (f"{record_id}:2", 201), (f"{record_id}:1", 400)]
    assert [message.status for message in sync_messages(app)] == ["dead", "delivered"]
    stored = record(app, "subscriptions", record_id)
    assert (stored.revision, stored.sync_status, stored.sync_error) == (2, "synced_to_dashboard", None)
