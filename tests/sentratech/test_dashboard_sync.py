"""Dashboard sync: a real local HTTP server plays the dashboard; real Redis, a real RQ worker."""

from __future__ import annotations

import json
import socket
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug import Request, Response

from modules.core import outbox
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.redis_client import get_redis
from modules.core.scheduler import registered_jobs
from modules.core.types import utcnow
from modules.sentratech import jobs
from modules.sentratech.forms import FORMS
from tests.support.sentratech import INGEST_HEADERS, SVC_EMAIL, SVC_PASSWORD, VALID_BODIES, valid_body
from tests.support.worker import Drainer

LOGIN = "/api/auth/login"


@pytest.fixture
def dashboard_worker(dashboard_app):
    return Drainer(dashboard_app)


def expect_login(httpserver, answer=None):
    httpserver.expect_request(LOGIN, method="POST", json={"email": SVC_EMAIL, "password": SVC_PASSWORD}) \
        .respond_with_json(answer or {"access_token": "test-dashboard-token", "token_type": "bearer"})


def ingest(app, form, **changes):
    response = app.test_client().post(f"/api/ingest/{form}", json=valid_body(form, **changes),
                                      headers=INGEST_HEADERS)
    assert response.status_code == 200
    return response.get_json()["id"]


def record(app, form, record_id):
    with app.app_context():
        row = db.session.get(FORMS[form].model, record_id)
        db.session.expunge(row)
        return row


def sync_messages(app):
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()
        db.session.expunge_all()
        return rows


def sweep_at(app, seconds_from_now):
    with app.app_context():
        return outbox.sweep(now=utcnow() + timedelta(seconds=seconds_from_now))


def posts(httpserver):
    return [request for request, _ in httpserver.log if request.path != LOGIN]


def logins(httpserver):
    return [request for request, _ in httpserver.log if request.path == LOGIN]


def test_every_record_reaches_the_dashboard_once_with_token_and_idempotency_key(
        dashboard_app, dashboard_worker, httpserver):
    expect_login(httpserver)
    for form in FORMS:
        httpserver.expect_request(f"/v1/{form}", method="POST").respond_with_json({"ok": True}, status=201)
    ids = {form: ingest(dashboard_app, form, unknown_key="ignored") for form in FORMS}
    dashboard_worker.drain()

    assert len(logins(httpserver)) == 1, "the token is cached between deliveries"
    assert sorted(request.path for request in posts(httpserver)) == sorted(f"/v1/{form}" for form in FORMS)
    received = {request.path: request for request in posts(httpserver)}
    for form, record_id in ids.items():
        request = received[f"/v1/{form}"]
        stored = record(dashboard_app, form, record_id)
        assert request.headers["Authorization"] == "Bearer test-dashboard-token"
        assert request.headers["Idempotency-Key"] == f"{record_id}:1"
        expected = {**VALID_BODIES[form], "id": record_id,
                    "created_at": stored.created_at.isoformat().replace("+00:00", "Z")}
        if form == "contact_requests":
            expected.update(company_website=None, assigned_rep=None)
        assert request.get_json() == expected
        assert stored.sync_status == "synced_to_dashboard" and stored.synced_at is not None

    assert sweep_at(dashboard_app, 86400) == 0
    dashboard_worker.drain()
    assert sorted(request.path for request in posts(httpserver)) == sorted(f"/v1/{form}" for form in FORMS), (
        "a delivered record is never sent again")


def test_the_dashboard_gets_typed_canonical_values_whatever_their_spelling_on_the_form(
        dashboard_app, dashboard_worker, httpserver):
    expect_login(httpserver)
    httpserver.expect_request("/v1/contact_requests", method="POST").respond_with_json({}, status=201)
    record_id = ingest(dashboard_app, "contact_requests", call_volume="50000", interaction_volume=" 12 ",
                       preferred_contact_method="email", status="In_Progress", phone=None)
    dashboard_worker.drain()
    [request] = posts(httpserver)
    body = request.get_json()
    assert {name: body[name] for name in ("call_volume", "interaction_volume", "preferred_contact_method",
                                          "status", "phone")} == {
        "call_volume": 50000, "interaction_volume": 12, "preferred_contact_method": "Email",
        "status": "in_progress", "phone": None}
    assert record(dashboard_app, "contact_requests", record_id).sync_status == "synced_to_dashboard"


def test_a_503_then_201_ends_synced(dashboard_app, dashboard_worker, httpserver):
    expect_login(httpserver)
    httpserver.expect_oneshot_request("/v1/demo_requests").respond_with_data("busy", status=503)
    httpserver.expect_request("/v1/demo_requests").respond_with_json({}, status=201)
    record_id = ingest(dashboard_app, "demo_requests")
    dashboard_worker.drain()
    assert record(dashboard_app, "demo_requests", record_id).sync_status == "pending_dashboard_sync"
    [message] = sync_messages(dashboard_app)
    assert (message.status, message.attempts, message.last_status_code) == ("pending", 1, 503)

    assert sweep_at(dashboard_app, 45) == 1
    dashboard_worker.drain()
    assert record(dashboard_app, "demo_requests", record_id).sync_status == "synced_to_dashboard"
    assert [r.headers["Idempotency-Key"] for r in posts(httpserver)] == [f"{record_id}:1"] * 2


@pytest.mark.parametrize("status", [408, 429, 500, 502])
def test_retryable_statuses_keep_the_record_pending(dashboard_app, dashboard_worker, httpserver, status):
    expect_login(httpserver)
    httpserver.expect_request("/v1/subscriptions").respond_with_data("later", status=status)
    record_id = ingest(dashboard_app, "subscriptions")
    dashboard_worker.drain()
    assert record(dashboard_app, "subscriptions", record_id).sync_status == "pending_dashboard_sync"
    assert sync_messages(dashboard_app)[0].next_attempt_at > utcnow()


def test_a_400_ends_sync_failed_without_retries(dashboard_app, dashboard_worker, httpserver):
    expect_login(httpserver)
    httpserver.expect_request("/v1/contact_requests").respond_with_json({"detail": "bad field"}, status=400)
    record_id = ingest(dashboard_app, "contact_requests")
    dashboard_worker.drain()
    stored = record(dashboard_app, "contact_requests", record_id)
    assert stored.sync_status == "sync_failed"
    assert stored.sync_error.startswith("HTTP 400")
    assert sweep_at(dashboard_app, 86400) == 0
    dashboard_worker.drain()
    assert len(posts(httpserver)) == 1
    status = dashboard_app.test_client().get("/api/ingest/contact_requests/status").get_json()
    assert status["sync"] == {"pending": 0, "synced": 0, "failed": 1}


def test_a_409_means_the_dashboard_already_has_it(dashboard_app, dashboard_worker, httpserver):
    expect_login(httpserver)
    httpserver.expect_request("/v1/roi_reports").respond_with_json({"detail": "duplicate"}, status=409)
    record_id = ingest(dashboard_app, "roi_reports")
    dashboard_worker.drain()
    assert record(dashboard_app, "roi_reports", record_id).sync_status == "synced_to_dashboard"


def test_an_expired_token_triggers_one_login_and_succeeds(dashboard_app, dashboard_worker, httpserver):
    issued = []
    expired = set()

    def login(request: Request) -> Response:
        issued.append(f"test-dashboard-token-{len(issued) + 1}")
        return Response(json.dumps({"token": issued[-1]}), content_type="application/json")

    def records(request: Request) -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in issued or token in expired:
            return Response('{"detail": "token expired"}', status=401, content_type="application/json")
        return Response("{}", status=201, content_type="application/json")

    httpserver.expect_request(LOGIN, method="POST").respond_with_handler(login)
    httpserver.expect_request("/v1/demo_requests").respond_with_handler(records)
    first = ingest(dashboard_app, "demo_requests")
    dashboard_worker.drain()
    expired.add("test-dashboard-token-1")
    second = ingest(dashboard_app, "demo_requests")
    dashboard_worker.drain()

    assert issued == ["test-dashboard-token-1", "test-dashboard-token-2"]
    assert [(r.headers["Idempotency-Key"], r.headers["Authorization"]) for r in posts(httpserver)] == [
        (f"{first}:1", "Bearer test-dashboard-token-1"), (f"{second}:1", "Bearer test-dashboard-token-1"),
        (f"{second}:1", "Bearer test-dashboard-token-2")]
    assert record(dashboard_app, "demo_requests", second).sync_status == "synced_to_dashboard"


def test_a_worker_process_keeps_its_token_a_while_and_another_process_shares_it_through_redis(
        make_app, dashboard_app, dashboard_worker, httpserver):
    """Each delivery does not ask Redis for the token: the process keeps it up to LOCAL_TOKEN_SECONDS;
    a second process (another app) finds it in Redis and does not log in."""
    expect_login(httpserver)
    httpserver.expect_request("/v1/demo_requests").respond_with_json({}, status=201)
    ingest(dashboard_app, "demo_requests")
    dashboard_worker.drain()
    other_process = make_app(**{name: dashboard_app.config[name]
                                for name in ("DASHBOARD_BASE_URL", "SVC_EMAIL", "SVC_PASSWORD")})
    ingest(other_process, "demo_requests")
    Drainer(other_process).drain()
    with dashboard_app.app_context():
        get_redis().delete(*get_redis().keys("sentratech:dashboard-token:*"))
    ingest(dashboard_app, "demo_requests")
    dashboard_worker.drain()

    assert len(logins(httpserver)) == 1, "one login: the second process read Redis, the first kept its token"
    assert [request.headers["Authorization"] for request in posts(httpserver)] == ["Bearer test-dashboard-token"] * 3


def test_a_401_after_a_fresh_login_fails_the_record_without_looping(dashboard_app, dashboard_worker, httpserver):
    expect_login(httpserver)
    httpserver.expect_request("/v1/subscriptions").respond_with_json({"detail": "forbidden"}, status=401)
    record_id = ingest(dashboard_app, "subscriptions")
    dashboard_worker.drain()
    assert len(logins(httpserver)) == 2 and len(posts(httpserver)) == 2
    assert record(dashboard_app, "subscriptions", record_id).sync_status == "sync_failed"


def test_a_refused_login_fails_the_record_and_says_why(dashboard_app, dashboard_worker, httpserver):
    httpserver.expect_request(LOGIN).respond_with_json({"detail": "Incorrect email or password"}, status=401)
    record_id = ingest(dashboard_app, "subscriptions")
    dashboard_worker.drain()
    stored = record(dashboard_app, "subscriptions", record_id)
    assert (stored.sync_status, stored.sync_error) == ("sync_failed", "dashboard login refused: HTTP 401")
    assert posts(httpserver) == []


def test_a_login_that_is_down_is_retried(dashboard_app, dashboard_worker, httpserver):
    httpserver.expect_request(LOGIN).respond_with_data("down", status=503)
    record_id = ingest(dashboard_app, "subscriptions")
    dashboard_worker.drain()
    assert record(dashboard_app, "subscriptions", record_id).sync_status == "pending_dashboard_sync"
    assert sync_messages(dashboard_app)[0].last_status_code == 503


def test_without_a_service_account_no_login_and_no_authorization(make_app, httpserver):
    app = make_app(DASHBOARD_BASE_URL=httpserver.url_for("/"))
    httpserver.expect_request("/v1/subscriptions").respond_with_json({}, status=201)
    record_id = ingest(app, "subscriptions")
    Drainer(app).drain()
    [request] = httpserver.log[0][:1]
    assert request.path == "/v1/subscriptions" and "Authorization" not in request.headers
    assert record(app, "subscriptions", record_id).sync_status == "synced_to_dashboard"


def test_a_hanging_dashboard_times_out_and_is_retried(make_app):
    with socket.create_server(("127.0.0.1", 0)) as silent_peer:  # accepts connections, never answers
        app = make_app(DASHBOARD_BASE_URL=f"http://127.0.0.1:{silent_peer.getsockname()[1]}", HTTP_TIMEOUT_SECONDS=1)
        record_id = ingest(app, "subscriptions")
        Drainer(app).drain()
    assert record(app, "subscriptions", record_id).sync_status == "pending_dashboard_sync"
    assert sync_messages(app)[0].last_error.startswith("timeout")


def test_an_unreachable_dashboard_is_retried(make_app):
    app = make_app(DASHBOARD_BASE_URL="http://127.0.0.1:1")
    record_id = ingest(app, "subscriptions")
    Drainer(app).drain()
    assert record(app, "subscriptions", record_id).sync_status == "pending_dashboard_sync"
    assert sync_messages(app)[0].last_error.startswith("connection failed")


def test_records_stored_without_a_dashboard_wait_and_are_queued_once_it_is_set(app, make_app, httpserver):
    assert "sentratech.queue_unsynced" in {job.id for job in registered_jobs(app)}, "the scheduler runs it"
    waiting = [ingest(app, "demo_requests"), ingest(app, "subscriptions")]
    assert sync_messages(app) == []
    with app.app_context():
        assert jobs.queue_unsynced() == 0, "nothing to do while the dashboard is unset"

    configured = make_app(DASHBOARD_BASE_URL=httpserver.url_for("/"))
    httpserver.expect_request("/v1/demo_requests").respond_with_json({}, status=201)
    httpserver.expect_request("/v1/subscriptions").respond_with_json({}, status=201)
    with configured.app_context():
        assert jobs.queue_unsynced() == 2
        assert jobs.queue_unsynced() == 0, "records already queued are not queued twice"
    Drainer(configured).drain()
    assert sorted(r.headers["Idempotency-Key"] for r in posts(httpserver)) == sorted(f"{i}:1" for i in waiting)
    assert record(configured, "subscriptions", waiting[1]).sync_status == "synced_to_dashboard"


def test_a_resubscription_is_synced_again(dashboard_app, dashboard_worker, httpserver):
    expect_login(httpserver)
    httpserver.expect_request("/v1/subscriptions").respond_with_json({}, status=201)
    record_id = ingest(dashboard_app, "subscriptions")
    dashboard_worker.drain()
    assert ingest(dashboard_app, "subscriptions", status="unsubscribed") == record_id
    assert record(dashboard_app, "subscriptions", record_id).sync_status == "pending_dashboard_sync"
    dashboard_worker.drain()
    assert [r.get_json()["status"] for r in posts(httpserver)] == ["subscribed", "unsubscribed"]
    assert record(dashboard_app, "subscriptions", record_id).sync_status == "synced_to_dashboard"
