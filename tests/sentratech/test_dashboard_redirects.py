"""Redirects from the dashboard are never followed: the record is not marked synced, the failure names
the status and where it pointed, and another host receives nothing (no body, no password, no token)."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from tests.sentratech.test_dashboard_sync import LOGIN, expect_login, ingest, logins, posts, record, sweep_at
from tests.support.worker import Drainer


@pytest.fixture
def other_host():
    """A second local server on another port and host name (localhost, where the dashboard is 127.0.0.1):
    where a redirect points. Every request it receives is a leak."""
    with HTTPServer(host="localhost") as server:
        server.expect_request("/", method="POST").respond_with_json({"access_token": "stolen"})
        yield server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_record_post_is_sync_failed_with_the_status_and_location(
        dashboard_app, httpserver, status):
    expect_login(httpserver)
    moved_to = httpserver.url_for("/v2/demo_requests")
    httpserver.expect_request("/v1/demo_requests").respond_with_data(
        "", status=status, headers={"Location": moved_to + "?token=secret-in-query"})
    httpserver.expect_request("/v2/demo_requests").respond_with_json({}, status=201)
    record_id = ingest(dashboard_app, "demo_requests")
    Drainer(dashboard_app).drain()

    stored = record(dashboard_app, "demo_requests", record_id)
    assert stored.sync_status == "sync_failed" and stored.synced_at is None
    assert stored.sync_error.startswith(f"HTTP {status}: redirect to {moved_to} not followed")
    assert "secret-in-query" not in stored.sync_error
    assert [request.path for request in posts(httpserver)] == ["/v1/demo_requests"], "nothing sent to /v2"
    assert sweep_at(dashboard_app, 86400) == 0, "a redirect is not retried"


@pytest.mark.parametrize("status", [307, 308])
def test_a_record_post_redirected_to_another_host_sends_it_nothing(dashboard_app, httpserver, other_host, status):
    expect_login(httpserver)
    httpserver.expect_request("/v1/subscriptions").respond_with_data(
        "", status=status, headers={"Location": other_host.url_for("/")})
    record_id = ingest(dashboard_app, "subscriptions")
    Drainer(dashboard_app).drain()

    assert other_host.log == []
    [request] = posts(httpserver)
    assert request.headers["Authorization"] == "Bearer test-dashboard-token"
    stored = record(dashboard_app, "subscriptions", record_id)
    assert stored.sync_status == "sync_failed"
    assert f"HTTP {status}: redirect to {other_host.url_for('/')}" in stored.sync_error


@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_login_redirected_to_another_host_sends_it_no_password(dashboard_app, httpserver, other_host, status):
    httpserver.expect_request(LOGIN).respond_with_data("", status=status,
                                                       headers={"Location": other_host.url_for("/")})
    httpserver.expect_request("/v1/subscriptions").respond_with_json({}, status=201)
    record_id = ingest(dashboard_app, "subscriptions")
    Drainer(dashboard_app).drain()

    assert other_host.log == []
    assert len(logins(httpserver)) == 1 and posts(httpserver) == [], "no record without a token"
    stored = record(dashboard_app, "subscriptions", record_id)
    assert stored.sync_status == "sync_failed"
    assert stored.sync_error.startswith(
        f"dashboard login refused: HTTP {status}: redirect to {other_host.url_for('/')} not followed")
