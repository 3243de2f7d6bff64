"""/api/tracking-ingest: health, the connection test, keys, limits and errors in the trackers' shape."""

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.link_tracking import BATCH_PATH

UNAUTHORIZED = {"success": False, "error": "Unauthorized", "message": "Valid API key required in X-API-Key header"}


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


def test_extra_headers_do_not_give_a_fresh_bucket(make_app, key_headers, stored_clicks):
    """The limit counts the key that authenticated: whatever else a tracker sends makes no new bucket."""
    client = make_app(TRACKING_RATE_LIMIT="2/minute").test_client()
    key = key_headers["X-API-Key"]
    variants = [{"X-API-Key": key}, {"X-API-Key": key, "X-INGEST-KEY": "random-1"},
                {"X-API-Key": key, "X-INGEST-KEY": "random-2"}, {"X-API-Key": key, "Authorization": "Bearer random"},
                {"X-API-Key": key, "X-Forwarded-For": "203.0.113.9"}, {"x-api-key": key}]
    statuses = [client.post(BATCH_PATH, json={"events": [{"tracking_id": "a"}]}, headers=headers).status_code
                for headers in variants]
    assert statuses == [200, 200, 429, 429, 429, 429]
    assert len(stored_clicks()) == 2


def test_wrong_keys_are_limited_per_address(make_app, key_headers, stored_clicks):
    """Refused keys prove no identity: they count against the address (AUTH_FAILURE_RATE_LIMIT), however
    many different ones are tried, and the tracker's own key keeps working."""
    client = make_app(AUTH_FAILURE_RATE_LIMIT="3/minute").test_client()

    def post(headers, address="192.0.2.1"):
        return client.post(BATCH_PATH, json={"events": [{"tracking_id": "a"}]}, headers=headers,
                           environ_base={"REMOTE_ADDR": address})

    assert [post({"X-API-Key": f"guess-{n}"}).status_code for n in range(3)] == [401, 401, 401]
    for headers in ({"X-API-Key": "guess-3"}, {}, {"X-API-Key": "guess-4", "X-INGEST-KEY": "other"}):
        refused = post(headers)
        assert refused.status_code == 429
        assert (refused.get_json()["success"], refused.get_json()["error"]) == (False, "Too Many Requests")
        assert int(refused.headers["Retry-After"]) > 0
    assert post({"X-API-Key": "guess-5"}, address="192.0.2.2").status_code == 401, "another address, another bucket"
    assert post(key_headers).status_code == 200
    assert len(stored_clicks()) == 1


def test_the_openapi_document_describes_the_domain(client):
    spec = client.get("/openapi.json").get_json()
    batch = spec["paths"]["/api/tracking-ingest/batch"]["post"]
    assert batch["security"] == [{"trackingApiKey": []}]
    assert batch["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ClickBatchRequest"}
    assert {"200", "207", "400", "401", "413", "429"} <= set(batch["responses"])
    assert spec["components"]["securitySchemes"]["trackingApiKey"] == {"type": "apiKey", "in": "header",
                                                                      "name": "X-API-Key"}
    for path in ("/api/link-tracking/links", "/api/link-tracking/links/{tracking_id}/analytics",
                 "/api/link-tracking/analytics", "/track/{tracking_id}"):
        assert path in spec["paths"]
    management = [(path, method, operation) for path, operations in spec["paths"].items()
                  if path.startswith("/api/link-tracking/") for method, operation in operations.items()
                  if method in ("get", "post", "patch", "delete")]
    assert len(management) == 7
    for path, method, operation in management:
        assert operation["security"] == [{"operatorBearer": []}], (method, path)
