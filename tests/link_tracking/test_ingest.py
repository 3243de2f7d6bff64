"""POST /api/tracking-ingest/batch, /test and /health exactly as existing trackers read them."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, text

from modules.core.extensions import db
from tests.link_tracking.conftest import BATCH_PATH

UNAUTHORIZED = {"success": False, "error": "Unauthorized", "message": "Valid API key required in X-API-Key header"}


def bad_request(message):
    return {"success": False, "error": "Bad Request", "message": message}


def iso(text):
    return datetime.fromisoformat(text)


def test_health_needs_no_key(client):
    response = client.get("/api/tracking-ingest/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "healthy" and body["service"] == "tracking_ingest_api"
    assert body["version"].count(".") == 2 and body["database"] == "ok"
    assert abs(iso(body["timestamp"]) - datetime.now(UTC)) < timedelta(minutes=1)


def test_health_is_unhealthy_when_the_database_is_down(make_app):
    client = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none").test_client()
    response = client.get("/api/tracking-ingest/health")
    assert response.status_code == 503
    assert (response.get_json()["status"], response.get_json()["database"]) == ("unhealthy", "unavailable")


@pytest.mark.parametrize("key", ["test-tracking-key", "test-tracking-key-old"])
def test_connection_test_accepts_every_rotated_key(client, key):
    response = client.post("/api/tracking-ingest/test", headers={"X-API-Key": key})
    assert response.status_code == 200
    body = response.get_json()
    assert {k: body[k] for k in ("success", "message", "authenticated")} == {
        "success": True, "message": "API connection successful", "authenticated": True}
    assert iso(body["timestamp"]).tzinfo is not None


@pytest.mark.parametrize("setting", ["STEVE_GLEN_TRACKING_API_KEY", "WEBHOOK_API_KEY"])
def test_legacy_key_settings_are_accepted(make_app, setting):
    client = make_app(**{setting: "test-legacy-key"}).test_client()
    assert client.post("/api/tracking-ingest/test", headers={"X-API-Key": "test-legacy-key"}).status_code == 200
    assert client.post("/api/tracking-ingest/test", headers={"X-API-Key": "test-other"}).status_code == 401


@pytest.mark.parametrize("path", ["/api/tracking-ingest/test", BATCH_PATH])
def test_missing_or_wrong_key_is_401(client, path, stored_clicks):
    for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "wrong-key"}, {"X-API-Key": "test-tracking-key "},
                    {"Authorization": "Bearer test-tracking-key"}):
        response = client.post(path, json={"events": [{"tracking_id": "a"}]}, headers=headers)
        assert response.status_code == 401
        assert response.get_json() == UNAUTHORIZED
    assert stored_clicks() == []


def test_key_is_checked_before_the_body_is_read(make_app, stored_clicks):
    client = make_app(TRACKING_MAX_BODY_BYTES=100).test_client()
    oversized = client.post(BATCH_PATH, data="x" * 10_000, content_type="application/json",
                            headers={"X-API-Key": "wrong"})
    malformed = client.post(BATCH_PATH, data="{not json", content_type="text/plain")
    assert (oversized.status_code, malformed.status_code) == (401, 401)
    assert oversized.get_json() == malformed.get_json() == UNAUTHORIZED


@pytest.mark.parametrize("body, message", [
    ("{not json", "Request body must be JSON"),
    ("", "Request body must be JSON"),
    ('{"events": [{"tracking_id": "a", "metadata": {"x": NaN}}]}', "Request body must be JSON"),
    ('{"events": [{"tracking_id": "a", "metadata": {"x": 1e400}}]}', "Request body must be JSON"),
    ('{"events": [{"tracking_id": "a", "metadata": {"x": ' + "9" * 5000 + "}}]}", "Request body must be JSON"),
    ("[" * 100_000 + "]" * 100_000, "Request body must be JSON"),
    (b'{"events": "\xff"}', "Request body must be JSON"),
    ("{}", "Missing required field: events (array)"),
    ('[{"tracking_id": "a"}]', "Missing required field: events (array)"),
    ('"events"', "Missing required field: events (array)"),
    ("null", "Missing required field: events (array)"),
    ('{"event": []}', "Missing required field: events (array)"),
    ('{"events": {"tracking_id": "a"}}', 'Field "events" must be an array'),
    ('{"events": "a,b"}', 'Field "events" must be an array'),
    ('{"events": null}', 'Field "events" must be an array'),
    ('{"events": []}', "Events array cannot be empty"),
])
def test_structural_errors_are_400_with_the_contract_message(post_batch, stored_clicks, body, message):
    response = post_batch(body=body)
    assert response.status_code == 400
    assert response.get_json() == bad_request(message)
    assert stored_clicks() == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_declared_json_is_refused(client, key_headers, content_type, stored_clicks):
    response = client.post(BATCH_PATH, data='{"events": [{"tracking_id": "a"}]}', content_type=content_type,
                           headers=key_headers)
    assert response.status_code == 400
    assert response.get_json() == bad_request("Request body must be JSON")
    assert stored_clicks() == []


def count_statements(app):
    """INSERT statements SQLAlchemy sends, and commits (on PostgreSQL the clicks bypass its events)."""
    seen = {"inserts": 0, "commits": 0}
    with app.app_context():
        engine = db.engine

    def on_execute(_conn, _cursor, statement, *_args):
        seen["inserts"] += statement.lstrip().upper().startswith("INSERT")

    def on_commit(_conn):
        seen["commits"] += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    return seen


def test_1000_events_are_stored_in_one_transaction_with_two_inserts(app, post_batch, stored_clicks, stored_links):
    seen = count_statements(app)
    events = [{"tracking_id": f"link-{n % 7}", "event_id": f"evt-{n:04d}", "clicked_at": "2026-11-20T10:00:00Z"}
              for n in range(1000)]
    response = post_batch(events)
    assert response.status_code == 200
    body = response.get_json()
    assert body["success"] is True and body["message"] == "Processed 1000 events"
    assert body["results"] == {"total_events": 1000, "successful": 1000, "failed": 0, "errors": []}
    assert len(stored_clicks()) == 1000
    assert sorted(stored_links()) == [f"link-{n}" for n in range(7)]
    assert seen["commits"] == 1
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            writers = db.session.scalar(text("SELECT count(DISTINCT xmin::text) FROM link_clicks"))
            assert writers == 1, "every row was written by the same transaction"
            assert seen["inserts"] == 1, "tracking ids registered in one statement (clicks go through psycopg2)"
        else:
            assert seen["inserts"] == 2, "one INSERT for the tracking ids, one for the clicks"


def test_1001_events_are_refused_and_nothing_is_stored(post_batch, stored_clicks):
    response = post_batch([{"tracking_id": "a"}] * 1001)
    assert response.status_code == 400
    assert response.get_json() == bad_request("Batch size too large (max 1000 events per request)")
    assert stored_clicks() == []


def test_a_successful_batch_answers_exactly_the_contract_shape(post_batch):
    body = post_batch([{"tracking_id": "a"}, {"tracking_id": "b"}]).get_json()
    assert set(body) == {"success", "message", "results", "timestamp"}
    assert (body["success"], body["message"]) == (True, "Processed 2 events")
    assert iso(body["timestamp"]).tzinfo is not None


def test_fields_are_stored_with_defaults_and_utc_times(post_batch, stored_clicks):
    before = datetime.now(UTC)
    response = post_batch([
        {"tracking_id": "with-z", "clicked_at": "2026-11-20T14:30:00Z", "ip_address": "2001:db8::1",
         "user_agent": "Mozilla/5.0", "referrer_url": "https://example.com/jobs", "click_source": "linkedin",
         "session_id": "s-1", "metadata": {"campaign": "fall", "nested": {"n": [1, 2.5, None]}}, "event_id": "e-1"},
        {"tracking_id": "no-z", "clicked_at": "2026-11-20T14:30:00", "event_id": "e-2"},
        {"tracking_id": "offset", "clicked_at": "2026-11-20T16:30:00+02:00", "event_id": "e-3"},
        {"tracking_id": "defaults", "event_id": "e-4", "ip_address": None, "click_source": "", "metadata": None},
    ])
    assert response.status_code == 200
    clicks = {click.tracking_id: click for click in stored_clicks()}
    full = clicks["with-z"]
    assert full.clicked_at == datetime(2026, 11, 20, 14, 30, tzinfo=UTC)
    assert (full.ip_address, full.user_agent, full.referrer_url, full.click_source, full.session_id) == (
        "2001:db8::1", "Mozilla/5.0", "https://example.com/jobs", "linkedin", "s-1")
    assert full.event_metadata == {"campaign": "fall", "nested": {"n": [1, 2.5, None]}}
    assert clicks["no-z"].clicked_at == clicks["offset"].clicked_at == full.clicked_at
    default = clicks["defaults"]
    assert before <= default.clicked_at <= datetime.now(UTC)
    assert (default.click_source, default.ip_address, default.event_metadata) == ("external_domain", None, None)


def test_unknown_tracking_ids_are_registered_once(post_batch, stored_links, stored_clicks):
    assert post_batch([{"tracking_id": "new-link"}, {"tracking_id": "new-link"}]).status_code == 200
    assert post_batch([{"tracking_id": "new-link"}]).status_code == 200
    links = stored_links()
    assert list(links) == ["new-link"]
    assert (links["new-link"].auto_registered, links["new-link"].is_active, links["new-link"].original_url) == (
        True, True, None)
    assert len(stored_clicks()) == 3


def test_a_retried_batch_stores_no_duplicates_and_counts_them(post_batch, stored_clicks):
    events = [{"tracking_id": "a", "event_id": f"retry-{n}"} for n in range(5)]
    assert post_batch(events).status_code == 200
    retried = post_batch(events + [{"tracking_id": "a", "event_id": "retry-5"}, {"tracking_id": "a"}])
    assert retried.status_code == 200
    assert retried.get_json()["results"] == {"total_events": 7, "successful": 7, "failed": 0, "errors": []}
    assert sorted(c.event_id or "-" for c in stored_clicks()) == ["-"] + [f"retry-{n}" for n in range(6)]


def test_duplicate_event_ids_within_one_batch_are_stored_once(post_batch, stored_clicks):
    response = post_batch([{"tracking_id": "a", "event_id": "same"}, {"tracking_id": "b", "event_id": "same"}])
    assert response.get_json()["results"]["successful"] == 2
    assert [c.tracking_id for c in stored_clicks()] == ["a"]


TOO_LONG = {"tracking_id": 101, "ip_address": 46, "user_agent": 501, "referrer_url": 1001, "click_source": 51,
            "session_id": 101, "event_id": 101}


@pytest.mark.parametrize("event, reason", [
    ("not an object", "Event must be a JSON object"),
    (["tracking_id", "a"], "Event must be a JSON object"),
    (None, "Event must be a JSON object"),
    ({}, "Missing required field: tracking_id"),
    ({"tracking_id": ""}, "Missing required field: tracking_id"),
    ({"tracking_id": None}, "Missing required field: tracking_id"),
    ({"tracking_id": "   "}, "Missing required field: tracking_id"),
    ({"tracking_id": 42}, "Invalid tracking_id format (must be string, max 100 chars)"),
    ({"tracking_id": ["a"]}, "Invalid tracking_id format (must be string, max 100 chars)"),
    ({"tracking_id": "t" * 101}, "Invalid tracking_id format (must be string, max 100 chars)"),
    ({"tracking_id": "a", "clicked_at": "yesterday"}, "Invalid clicked_at format (must be ISO 8601 datetime)"),
    ({"tracking_id": "a", "clicked_at": 1732000000}, "Invalid clicked_at format (must be ISO 8601 datetime)"),
    ({"tracking_id": "a", "clicked_at": "2026-13-40T00:00:00Z"},
     "Invalid clicked_at format (must be ISO 8601 datetime)"),
    ({"tracking_id": "a", "clicked_at": "0001-01-01T00:00:00+01:00"},
     "Invalid clicked_at format (must be ISO 8601 datetime)"),
    ({"tracking_id": "a", "ip_address": "9" * 46}, "Invalid ip_address (must be string, max 45 chars)"),
    ({"tracking_id": "a", "ip_address": 10}, "Invalid ip_address (must be string, max 45 chars)"),
    ({"tracking_id": "a", "user_agent": "u" * 501}, "Invalid user_agent (must be string, max 500 chars)"),
    ({"tracking_id": "a", "referrer_url": "r" * 1001}, "Invalid referrer_url (must be string, max 1000 chars)"),
    ({"tracking_id": "a", "click_source": "c" * 51}, "Invalid click_source (must be string, max 50 chars)"),
    ({"tracking_id": "a", "session_id": {"id": 1}}, "Invalid session_id (must be string, max 100 chars)"),
    ({"tracking_id": "a", "metadata": "campaign=fall"}, "Invalid metadata (must be JSON object)"),
    ({"tracking_id": "a", "metadata": [1, 2]}, "Invalid metadata (must be JSON object)"),
    ({"tracking_id": "a", "event_id": "e" * 101}, "Invalid event_id (must be string, max 100 chars)"),
    # The first rule broken, in the contract's order.
    ({"tracking_id": 1, "clicked_at": "x"}, "Invalid tracking_id format (must be string, max 100 chars)"),
    ({"tracking_id": "a", "user_agent": 1, "ip_address": 1}, "Invalid ip_address (must be string, max 45 chars)"),
    ({"tracking_id": "a", "metadata": 1, "session_id": 1}, "Invalid session_id (must be string, max 100 chars)"),
])
def test_one_bad_event_refuses_the_whole_batch(post_batch, stored_clicks, stored_links, event, reason):
    response = post_batch([{"tracking_id": "good"}, event, {"tracking_id": "also-good"}])
    assert response.status_code == 400
    body = response.get_json()
    assert body == {"success": False, "error": "Validation Failed", "message": "One or more events failed validation",
                    "validation_errors": [f"Event 2: {reason}"], "timestamp": body["timestamp"]}
    assert stored_clicks() == [] and stored_links() == {}


def test_every_failing_event_is_listed_with_its_number(post_batch):
    events = [{"tracking_id": "ok"}, "x", {"tracking_id": "ok"}, {}, {"tracking_id": "a", "clicked_at": "soon"}]
    assert post_batch(events).get_json()["validation_errors"] == [
        "Event 2: Event must be a JSON object", "Event 4: Missing required field: tracking_id",
        "Event 5: Invalid clicked_at format (must be ISO 8601 datetime)"]


def test_values_at_the_limits_are_accepted(post_batch, stored_clicks):
    event = {name: "x" * size for name, size in TOO_LONG.items()}
    event.update({name: "x" * (size - 1) for name, size in TOO_LONG.items()})
    assert post_batch([event]).status_code == 200
    assert len(stored_clicks()) == 1


def test_unicode_is_stored_as_sent(post_batch, stored_clicks):
    text = "Zoë 🚀 \u00e9t\u00e9 日本"
    assert post_batch([{"tracking_id": "ünï-🚀", "user_agent": text, "metadata": {"ключ": text}}]).status_code == 200
    [click] = stored_clicks()
    assert (click.tracking_id, click.user_agent, click.event_metadata) == ("ünï-🚀", text, {"ключ": text})


def test_events_the_database_cannot_hold_are_reported_with_207(post_batch, stored_clicks):
    body = ('{"events": [{"tracking_id": "ok-1"}, {"tracking_id": "nul\\u0000"}, '
            '{"tracking_id": "ok-2", "metadata": {"k": "\\ud800"}}, '
            '{"tracking_id": "ok-3", "user_agent": "\\ud83d\\ude80"}]}')
    response = post_batch(body=body)
    assert response.status_code == 207
    body = response.get_json()
    reason = "Could not be stored: text contains a NUL character or an unpaired surrogate"
    assert body == {"success": False, "message": "Processed 4 events", "warning": "2 events failed to process",
                    "results": {"total_events": 4, "successful": 2, "failed": 2,
                                "errors": [f"Event 2: {reason}", f"Event 3: {reason}"]},
                    "timestamp": body["timestamp"]}
    assert sorted(c.tracking_id for c in stored_clicks()) == ["ok-1", "ok-3"]


def test_very_deep_metadata_is_reported_not_crashing(post_batch, stored_clicks):
    deep = '{"a": ' * 200 + "1" + "}" * 200
    response = post_batch(body='{"events": [{"tracking_id": "deep", "metadata": ' + deep + "}]}")
    assert response.status_code == 207
    assert response.get_json()["results"]["errors"] == [
        "Event 1: Could not be stored: metadata is nested deeper than 32 levels"]
    assert stored_clicks() == []


def test_a_body_over_the_byte_limit_is_413_in_the_domain_shape(make_app, key_headers):
    client = make_app(TRACKING_MAX_BODY_BYTES=1000).test_client()
    events = [{"tracking_id": "a" * 90}] * 20
    response = client.post(BATCH_PATH, json={"events": events}, headers=key_headers)
    assert response.status_code == 413
    assert response.get_json() == {"success": False, "error": "Request Entity Too Large",
                                   "message": "Request body too large (max 1000 bytes)"}
    assert client.post(BATCH_PATH, json={"events": events[:5]}, headers=key_headers).status_code == 200


def test_storage_outage_is_503_and_stores_nothing(make_app, key_headers):
    client = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none").test_client()
    response = client.post(BATCH_PATH, json={"events": [{"tracking_id": "a"}]}, headers=key_headers)
    assert response.status_code == 503
    assert response.get_json() == {"success": False, "error": "Service Unavailable",
                                   "message": "Clicks could not be stored right now; retry the batch"}


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_is_405_in_the_domain_shape(client, method):
    response = client.open(BATCH_PATH, method=method)
    assert response.status_code == 405
    assert response.get_json() == {"success": False, "error": "Method Not Allowed",
                                   "message": "The method is not allowed for the requested URL."}


def test_unknown_ingest_path_is_404_in_the_domain_shape(client):
    response = client.post("/api/tracking-ingest/batches")
    assert response.status_code == 404
    assert response.get_json()["success"] is False and response.get_json()["error"] == "Not Found"


def test_a_tracker_over_its_rate_limit_gets_429_with_retry_after(make_app, key_headers, stored_clicks):
    client = make_app(TRACKING_RATE_LIMIT="2/minute").test_client()
    statuses = [client.post(BATCH_PATH, json={"events": [{"tracking_id": "a"}]}, headers=key_headers).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.post(BATCH_PATH, json={"events": [{"tracking_id": "a"}]}, headers=key_headers)
    assert refused.get_json()["success"] is False and refused.get_json()["error"] == "Too Many Requests"
    assert int(refused.headers["Retry-After"]) > 0
    assert len(stored_clicks()) == 2
    other_key = client.post(BATCH_PATH, json={"events": [{"tracking_id": "a"}]},
                            headers={"X-API-Key": "test-tracking-key-old"})
    assert other_key.status_code == 200, "limits count per key"
