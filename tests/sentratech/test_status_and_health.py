"""GET /api/ingest/<form>/status and GET /api/health."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from modules.core.extensions import db
from modules.sentratech.forms import FORMS
from tests.support.sentratech import INGEST_HEADERS, valid_body

READ_KEY = "test-read-key"
READ_HEADERS = {"X-INGEST-KEY": READ_KEY}
RECENT_KEYS = {"demo_requests": "recent_requests", "contact_requests": "recent_requests",
               "roi_reports": "recent_reports", "subscriptions": "recent_subscriptions"}


@pytest.fixture
def app(make_app):
    """Records may be read with READ_KEY (INGEST_READ_KEY); the ingest key is the tests' usual one."""
    return make_app(INGEST_READ_KEY=READ_KEY)


def ingest_many(client, form, count):
    ids = []
    for number in range(count):
        changes = {"email": f"reader{number}@example.com"} if form == "subscriptions" else {}
        response = client.post(f"/api/ingest/{form}", json=valid_body(form, **changes), headers=INGEST_HEADERS)
        ids.append(response.get_json()["id"])
    return ids


def set_sync_status(app, form, ids, status):
    model = FORMS[form].model
    with app.app_context():
        db.session.execute(update(model).where(model.id.in_(ids)).values(sync_status=status))
        db.session.commit()


@pytest.mark.parametrize("form", list(FORMS))
def test_counts_match_the_stored_records(app, client, form):
    ids = ingest_many(client, form, 6)
    set_sync_status(app, form, ids[:3], "synced_to_dashboard")
    set_sync_status(app, form, ids[3:4], "sync_failed")
    response = client.get(f"/api/ingest/{form}/status")
    assert response.status_code == 200
    assert response.get_json() == {"total_count": 6, "sync": {"pending": 2, "synced": 3, "failed": 1}}


@pytest.mark.parametrize("headers", [{}, {"X-INGEST-KEY": "wrong-key"}, INGEST_HEADERS,
                                     {"X-INGEST-KEY": READ_KEY + "-but-longer"}, {"X-INGEST-KEY": ""}])
def test_without_a_read_key_no_record_content_is_shown(client, headers):
    """The ingest key is embedded in the site's public pages: it reads counts only, like no key."""
    ingest_many(client, "demo_requests", 2)
    response = client.get("/api/ingest/demo_requests/status", headers=headers)
    assert response.get_json() == {"total_count": 2, "sync": {"pending": 2, "synced": 0, "failed": 0}}
    assert b"example.com" not in response.data


@pytest.mark.parametrize("form", list(FORMS))
def test_with_a_read_key_the_ten_latest_records_come_newest_first(client, form):
    ids = ingest_many(client, form, 12)
    body = client.get(f"/api/ingest/{form}/status", headers=READ_HEADERS).get_json()
    recent = body[RECENT_KEYS[form]]
    assert [item["id"] for item in recent] == list(reversed(ids))[:10]
    assert set(body) == {"total_count", "sync", RECENT_KEYS[form]}
    newest = recent[0]
    assert newest["sync_status"] == "pending_dashboard_sync" and newest["created_at"].endswith("Z")
    expected = valid_body(form, **({"email": "reader11@example.com"} if form == "subscriptions" else {}))
    assert {name: newest[name] for name in expected} == expected


def test_an_empty_table_has_zero_counts_and_an_empty_list(client):
    body = client.get("/api/ingest/roi_reports/status", headers=READ_HEADERS).get_json()
    assert body == {"total_count": 0, "sync": {"pending": 0, "synced": 0, "failed": 0}, "recent_reports": []}


def test_every_rotated_read_key_reads_and_an_unset_one_reads_nothing(make_app):
    rotated = make_app(INGEST_READ_KEY="test-read-key-new, test-read-key-old").test_client()
    for key in ("test-read-key-new", "test-read-key-old"):
        body = rotated.get("/api/ingest/subscriptions/status", headers={"X-INGEST-KEY": key}).get_json()
        assert body["recent_subscriptions"] == [], key
    unset = make_app(INGEST_READ_KEY="").test_client()
    for headers in ({"X-INGEST-KEY": ""}, INGEST_HEADERS):
        body = unset.get("/api/ingest/subscriptions/status", headers=headers).get_json()
        assert "recent_subscriptions" not in body


def test_a_read_key_that_is_also_an_ingest_key_reads_nothing(make_app):
    client = make_app(INGEST_KEY="test-ingest-key,shared-by-mistake",
                      INGEST_READ_KEY="shared-by-mistake,test-read-key").test_client()
    body = client.get("/api/ingest/subscriptions/status", headers={"X-INGEST-KEY": "shared-by-mistake"}).get_json()
    assert "recent_subscriptions" not in body
    assert "recent_subscriptions" in client.get("/api/ingest/subscriptions/status", headers=READ_HEADERS).get_json()


def test_wrong_keys_on_the_status_count_per_address_like_any_refused_key(make_app):
    """The status answers a wrong key with the counts, so no 401 counts it: it is counted all the same."""
    client = make_app(AUTH_FAILURE_RATE_LIMIT="3/minute").test_client()
    codes = [client.get("/api/ingest/demo_requests/status", headers={"X-INGEST-KEY": f"guess-{n}"}).status_code
             for n in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/api/ingest/demo_requests/status").status_code == 200, "no key: the public counts"
    assert client.get("/api/ingest/demo_requests/status", headers=INGEST_HEADERS).status_code == 200


def test_the_openapi_document_says_the_status_records_need_a_read_key(client):
    spec = client.get("/openapi.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["ingestReadKey"] | {"description": ""} == {"type": "apiKey", "in": "header",
                                                             "name": "X-INGEST-KEY", "description": ""}
    assert "INGEST_READ_KEY" in schemes["ingestReadKey"]["description"]
    assert spec["paths"]["/api/ingest/{form_type}/status"]["get"]["security"] == [{}, {"ingestReadKey": []}]


def test_an_unknown_form_is_a_json_404(client):
    response = client.get("/api/ingest/newsletters/status")
    assert response.status_code == 404
    assert set(response.get_json()) == {"detail"}


def test_health_answers_in_the_contract_shape(make_app, httpserver):
    body = make_app(DASHBOARD_BASE_URL=httpserver.url_for("/")).test_client().get("/api/health").get_json()
    assert body == {"status": "healthy", "timestamp": body["timestamp"], "database": "connected",
                    "ingest_configured": True, "dashboard_configured": True, "version": "1.0.0"}
    assert body["timestamp"].endswith("Z")


def test_health_says_what_is_not_configured(make_app):
    body = make_app(INGEST_KEY="", DASHBOARD_BASE_URL="").test_client().get("/api/health").get_json()
    assert (body["ingest_configured"], body["dashboard_configured"]) == (False, False)


def test_health_is_503_when_the_database_is_unreachable(make_app):
    response = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none").test_client().get("/api/health")
    assert response.status_code == 503
    assert response.get_json() == {"detail": "Service unavailable: database unreachable (OperationalError)"}


def test_forms_and_status_answer_503_while_the_database_is_unreachable(make_app):
    client = make_app(DATABASE_URL="postgresql://nobody@127.0.0.1:1/none").test_client()
    for response in (client.post("/api/ingest/subscriptions", json=valid_body("subscriptions"),
                                 headers=INGEST_HEADERS),
                     client.get("/api/ingest/subscriptions/status")):
        assert response.status_code == 503
        assert response.get_json() == {"detail": "Service unavailable: database unreachable (OperationalError)"}
