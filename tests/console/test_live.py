"""Live updates: `/console/live` streams the events every process publishes on Redis (modules/core/live.py),
served by gunicorn's gevent workers (`served_hub`) or the threaded server (`live_server`); real Redis, a real
RQ worker, real HTTP peers."""

from __future__ import annotations

import signal
import socket
import time

import pytest
import requests

from modules.console import live as console_live
from modules.core import live
from modules.core.extensions import db
from modules.core.outbox import control, destinations
from modules.core.redis_client import get_redis
from modules.core.types import utcnow
from modules.sentratech.jobs import SYNC_KIND
from tests.console.conftest import PASSWORD, csrf_token
from tests.support.sentratech import INGEST_HEADERS, SVC_EMAIL, SVC_PASSWORD, valid_body
from tests.support.servers import HubServer
from tests.support.sse import EventStream, cookie_header
from tests.support.worker import Drainer

FORM = "demo_requests"


def open_stream(browser: requests.Session, base_url: str, topics: str) -> EventStream:
    """A signed-in console's stream, once the server has sent its first block (it listens from then on)."""
    stream = EventStream(base_url, cookie_header(browser.cookies), topics)
    assert stream.status == 200
    wait_until(lambda: stream.blocks, seconds=10)
    return stream


def signed_in(base_url: str, email: str = "admin@example.com") -> requests.Session:
    """A browser session signed in to the console over HTTP (the sign-in form with its CSRF token)."""
    browser = requests.Session()
    token = csrf_token(browser.get(f"{base_url}/console/login").text)
    answer = browser.post(f"{base_url}/console/login", data={"email": email, "password": PASSWORD,
                                                              "csrf_token": token}, allow_redirects=False)
    assert answer.status_code == 303
    return browser


def post_form(base_url: str) -> None:
    answer = requests.post(f"{base_url}/api/ingest/{FORM}", json=valid_body(FORM), headers=INGEST_HEADERS, timeout=10)
    assert answer.status_code == 200, answer.text


def wait_until(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def publishes(redis) -> int:
    return redis.info("commandstats").get("cmdstat_publish", {}).get("calls", 0)


def dashboard_settings(peer) -> dict[str, str]:
    return {"DASHBOARD_BASE_URL": peer.url_for("/"), "SVC_EMAIL": SVC_EMAIL, "SVC_PASSWORD": SVC_PASSWORD}


@pytest.fixture(scope="module")
def served_hub(base_config, migrated, make_httpserver, tmp_path_factory):
    """The hub under gunicorn's gevent workers (as conftest's `served_hub`), its dashboard the local peer, so
    that a posted form gets an outbox message."""
    settings = {**{key: value for key, value in base_config.items() if key != "TESTING"},
                **dashboard_settings(make_httpserver)}
    server = HubServer(settings, log_path=tmp_path_factory.mktemp("live-hub") / "gunicorn.log").wait_until_up()
    yield server
    server.process.send_signal(signal.SIGINT)  # quick shutdown: a stream a test left open ends now, not in 30 s
    server.stop()


@pytest.fixture
def dashboard(make_app, httpserver):
    """An app (for the in-process worker) whose dashboard is the local `httpserver`, answering every form."""
    httpserver.expect_request("/api/auth/login", method="POST").respond_with_json(
        {"access_token": "test-dashboard-token", "token_type": "bearer"})
    httpserver.expect_request(f"/v1/{FORM}", method="POST").respond_with_json({"ok": True}, status=201)
    return make_app(**dashboard_settings(httpserver))


def test_nothing_is_published_while_no_console_listens_and_events_flow_once_one_does(dashboard, served_hub,
                                                                                       admin):
    redis = get_redis(dashboard)
    wait_until(lambda: redis.pubsub_numsub(live.CHANNEL)[0][1] == 0)  # streams of earlier tests have ended
    time.sleep(live.LISTENERS_SECONDS + 0.2)  # every process has asked again since
    redis.config_resetstat()
    for _ in range(3):
        post_form(served_hub.url)
    Drainer(dashboard).drain()
    with dashboard.app_context():
        control.pause("dashboard", "maintenance", actor="test")
        control.resume("dashboard", actor="test")
    assert publishes(redis) == 0

    stream = open_stream(signed_in(served_hub.url), served_hub.url, "records")
    try:
        time.sleep(live.LISTENERS_SECONDS + 0.2)
        post_form(served_hub.url)
        assert stream.next_event() == ("records", {"domain": "sentratech"})
        assert publishes(redis) >= 1
    finally:
        stream.close()


def test_a_console_hears_a_form_posted_its_delivery_and_a_pause_each_stream_its_own_topics(
        dashboard, served_hub, admin):
    browser = signed_in(served_hub.url)
    everything = open_stream(browser, served_hub.url, "records,deliveries,destinations")
    deliveries_only = open_stream(browser, served_hub.url, "deliveries")
    try:
        time.sleep(live.LISTENERS_SECONDS + 0.2)  # the web processes and this one learn that consoles listen
        post_form(served_hub.url)
        assert everything.next_event() == ("records", {"domain": "sentratech"})

        Drainer(dashboard).drain()  # the worker delivers the form to the dashboard
        delivered = ("deliveries", {"destination": "dashboard", "kind": SYNC_KIND, "outcome": "delivered"})
        assert everything.next_event() == delivered
        assert deliveries_only.next_event() == delivered

        with dashboard.app_context():
            control.pause("dashboard", None, actor="test")
        assert everything.next_event() == ("destinations", {"name": "dashboard", "state": "paused"})
        time.sleep(0.5)
        assert deliveries_only.events.empty(), "a stream gets only the topics it asked for"
    finally:
        everything.close()
        deliveries_only.close()


def test_a_console_hears_a_click_on_a_tracked_link(dashboard, served_hub, admin):
    """A redirect stores a click on a GET, which the after-request hook (writes only) does not see: the view
    publishes it itself."""
    from modules.link_tracking import services as link_services

    with dashboard.app_context():
        link_services.create_link({"tracking_id": "live-click", "original_url": "https://example.com/jobs"})
        db.session.commit()
    stream = open_stream(signed_in(served_hub.url), served_hub.url, "records")
    try:
        time.sleep(live.LISTENERS_SECONDS + 0.2)
        followed = requests.get(f"{served_hub.url}/track/live-click", allow_redirects=False, timeout=10)
        assert followed.status_code == 302
        assert stream.next_event() == ("records", {"domain": "link_tracking"})
    finally:
        stream.close()


def test_a_breaker_that_opens_is_heard_once_committed_and_not_if_rolled_back(dashboard, served_hub, admin):
    stream = open_stream(signed_in(served_hub.url), served_hub.url, "destinations")
    try:
        time.sleep(live.LISTENERS_SECONDS + 0.2)
        with dashboard.app_context():
            destinations.ensure("dashboard", utcnow())
            db.session.commit()
            destinations.failed("dashboard", "refused", utcnow(), probe=True)
            db.session.rollback()
            time.sleep(0.6)  # past the repeat window: a rolled-back event would be sent now
            assert stream.events.empty(), "nothing is announced before its transaction commits"
            destinations.failed("dashboard", "refused", utcnow(), probe=True)
            db.session.commit()
        assert stream.next_event() == ("destinations", {"name": "dashboard", "state": "open"})
    finally:
        stream.close()


def test_a_stream_has_its_headers_a_retry_hint_heartbeats_and_an_end(app, live_server, field_operator, monkeypatch):
    monkeypatch.setattr(console_live, "STREAM_SECONDS", 1.5)
    monkeypatch.setattr(console_live, "HEARTBEAT_SECONDS", 0.3)
    browser = signed_in(live_server, "field@example.com")  # any signed-in operator, not only admins
    started = time.monotonic()
    answer = browser.get(f"{live_server}/console/live", timeout=10)
    assert 1.4 < time.monotonic() - started < 5, "the stream ends after STREAM_SECONDS"
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/event-stream")
    assert answer.headers["Cache-Control"] == "no-cache" and answer.headers["X-Accel-Buffering"] == "no"
    assert answer.text.startswith(f"retry: {console_live.RETRY_MS}\n")
    assert answer.text.count(": keep-alive\n\n") >= 3


def test_no_stream_without_a_sign_in(client, live_server):
    answer = client.get("/console/live?topics=records")
    assert answer.status_code == 303 and "/console/login" in answer.headers["Location"]
    assert not answer.content_type.startswith("text/event-stream")
    over_http = requests.get(f"{live_server}/console/live", allow_redirects=False, timeout=5)
    assert over_http.status_code == 303 and "text/event-stream" not in over_http.headers.get("Content-Type", "")


def test_an_unknown_topic_is_refused(operator_client):
    answer = operator_client.get("/console/live?topics=records,clicks")
    assert answer.status_code == 400
    assert "clicks" in answer.get_data(as_text=True)


def test_an_ingest_answers_when_redis_is_down(make_app, tmp_path):
    app = make_app(REDIS_URL=f"unix://{tmp_path}/nothing.sock")
    answer = app.test_client().post(f"/api/ingest/{FORM}", json=valid_body(FORM), headers=INGEST_HEADERS)
    assert answer.status_code == 200
    with app.app_context():
        assert live.publish("records", {"domain": "sentratech"}) is False


def test_a_redis_that_never_answers_costs_a_publish_at_most_its_socket_timeout(make_app):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections are accepted by the kernel and never answered
    try:
        app = make_app(REDIS_URL=f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        with app.app_context():
            started = time.monotonic()
            assert live.publish("records", {"domain": "sentratech"}) is False
            assert time.monotonic() - started < live.SOCKET_SECONDS + 0.5
    finally:
        silent.close()


def test_an_operator_holds_a_bounded_number_of_streams(operator_client, monkeypatch):
    """Each stream holds a Redis connection and a server connection: one sign-in opening thousands would
    starve the hub. Past MAX_STREAMS a stream is a 429 until one ends, even one that never started."""
    monkeypatch.setattr(console_live, "MAX_STREAMS", 2)
    first = operator_client.get("/console/live")
    second = operator_client.get("/console/live")
    assert (first.status_code, second.status_code) == (200, 200)
    refused = operator_client.get("/console/live")
    assert refused.status_code == 429 and "live pages are open already" in refused.get_data(as_text=True)
    first.close()
    third = operator_client.get("/console/live")
    assert third.status_code == 200
    second.close()
    third.close()
