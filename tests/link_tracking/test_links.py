"""Tracked links: create, list, get, update, deactivate; who may; what is refused; the audit trail."""

import pytest
from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import AuditEntry, Operator
from tests.support.link_tracking import TRACKING_KEY

LINKS = "/api/link-tracking/links"


@pytest.fixture
def create(client, operator_headers):
    def post(**fields):
        return client.post(LINKS, json={"original_url": "https://example.com/job/1", **fields},
                           headers=operator_headers)

    return post


def operator_actor(app):
    """The audit actor of the `operator_headers` fixture's operator."""
    with app.app_context():
        return f"operator:{db.session.scalar(select(Operator.id))}"


def audit_events(app):
    with app.app_context():
        return [(e.event, e.actor, e.subject_id) for e in db.session.scalars(select(AuditEntry).where(
            AuditEntry.domain == "link_tracking").order_by(AuditEntry.id))]


def test_create_returns_the_link_and_its_tracking_url(create, stored_links, app):
    response = create(link_function="job_application", link_type="job_posting", description="Backend role",
                      job_id="job-7", application_id="app-9")
    assert response.status_code == 201
    link = response.get_json()
    assert link["tracking_id"].startswith("lt_") and len(link["tracking_id"]) == 19
    assert link["tracking_url"] == f"http://localhost/track/{link['tracking_id']}"
    assert {k: link[k] for k in ("original_url", "link_function", "link_type", "description", "job_id",
                                 "application_id", "is_active", "auto_registered")} == {
        "original_url": "https://example.com/job/1", "link_function": "job_application", "link_type": "job_posting",
        "description": "Backend role", "job_id": "job-7", "application_id": "app-9", "is_active": True,
        "auto_registered": False}
    assert link["created_at"].endswith("Z")
    assert stored_links()[link["tracking_id"]].original_url == "https://example.com/job/1"
    assert audit_events(app) == [("link.created", operator_actor(app), link["tracking_id"])]


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(document.cookie)", "/relative/path",
                                 "relative", "//evil.example.com/x", "ftp://example.com/f", "data:text/html,hi",
                                 "https://", "http://exa mple.com", "https://example.com/\x00", "", None, 42,
                                 "https://example.com/" + "a" * 2000])
def test_only_absolute_http_urls_are_accepted(create, stored_links, url):
    response = create(original_url=url)
    assert response.status_code == 400
    body = response.get_json()
    assert (body["success"], body["error"]) == (False, "Validation Failed")
    assert [line.split(":")[0] for line in body["validation_errors"]] == ["original_url"]
    assert stored_links() == {}


def test_create_lists_every_bad_field(client, operator_headers):
    response = client.post(LINKS, json={"link_type": "t" * 51, "tracking_id": "no spaces"}, headers=operator_headers)
    assert response.status_code == 400
    assert sorted(line.split(":")[0] for line in response.get_json()["validation_errors"]) == [
        "link_type", "original_url", "tracking_id"]


def test_a_chosen_tracking_id_is_used_once(create):
    assert create(tracking_id="spring-campaign").status_code == 201
    response = create(tracking_id="spring-campaign")
    assert response.status_code == 409
    assert response.get_json() == {"success": False, "error": "Conflict",
                                   "message": "A link with this tracking_id already exists"}


@pytest.mark.parametrize("body, content_type", [
    ("[]", "application/json"), ('"https://example.com"', "application/json"), ("{not json", "application/json"),
    ("original_url=https://example.com", "application/x-www-form-urlencoded"), ("", "application/json"),
])
def test_malformed_bodies_are_400_in_the_domain_shape(client, operator_headers, stored_links, body, content_type):
    response = client.post(LINKS, data=body, content_type=content_type, headers=operator_headers)
    assert response.status_code == 400
    assert response.get_json()["success"] is False and response.get_json()["validation_errors"]
    assert stored_links() == {}


LINK_PATHS = [("GET", LINKS), ("POST", LINKS), ("GET", LINKS + "/lt_x"), ("PATCH", LINKS + "/lt_x"),
              ("DELETE", LINKS + "/lt_x"), ("GET", LINKS + "/lt_x/analytics"), ("GET", "/api/link-tracking/analytics")]


@pytest.mark.parametrize("method, path", LINK_PATHS)
def test_links_api_needs_an_operator_the_tracking_key_only_ingests(client, stored_links, method, path):
    for headers in ({}, {"X-API-Key": TRACKING_KEY}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer not-a-token"},
                    {"Authorization": f"Bearer {TRACKING_KEY}"}):
        response = client.open(path, method=method, json={"original_url": "https://example.com"}, headers=headers)
        assert response.status_code == 401
        assert response.get_json() == {"success": False, "error": "Unauthorized", "message":
                                       "Valid operator bearer token required in Authorization header"}
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert stored_links() == {}


def test_the_tracking_key_cannot_retarget_a_link(client, create, stored_links, app):
    create(tracking_id="cv-link")
    tracker = {"X-API-Key": TRACKING_KEY}
    response = client.patch(f"{LINKS}/cv-link", json={"original_url": "https://phishing.example/login"},
                            headers=tracker)
    assert response.status_code == 401
    assert client.delete(f"{LINKS}/cv-link", headers=tracker).status_code == 401
    link = stored_links()["cv-link"]
    assert (link.original_url, link.is_active) == ("https://example.com/job/1", True)
    assert client.get("/track/cv-link").headers["Location"] == "https://example.com/job/1"
    assert [event for event, _, _ in audit_events(app)] == ["link.created"]


def test_an_operator_manages_links_and_is_the_audited_actor(client, operator_headers, app):
    created = client.post(LINKS, json={"original_url": "https://example.com"}, headers=operator_headers)
    assert created.status_code == 201
    tracking_id = created.get_json()["tracking_id"]
    updated = client.patch(f"{LINKS}/{tracking_id}", json={"description": "CV"}, headers=operator_headers)
    assert updated.status_code == 200
    assert client.delete(f"{LINKS}/{tracking_id}", headers=operator_headers).status_code == 200
    assert audit_events(app) == [(event, operator_actor(app), tracking_id)
                                 for event in ("link.created", "link.updated", "link.deactivated")]


def test_list_is_paginated_newest_first_and_filtered(client, operator_headers, create, post_batch):
    for n in range(5):
        create(tracking_id=f"link-{n}", link_function="cv" if n % 2 else "job", link_type="email")
    post_batch([{"tracking_id": "seen-in-a-batch"}])
    client.delete(f"{LINKS}/link-4", headers=operator_headers)

    def page(query):
        body = client.get(f"{LINKS}?{query}", headers=operator_headers).get_json()
        return body["total"], [link["tracking_id"] for link in body["links"]]

    assert page("limit=2") == (6, ["seen-in-a-batch", "link-4"])
    assert page("limit=2&offset=2") == (6, ["link-3", "link-2"])
    assert page("link_function=cv") == (2, ["link-3", "link-1"])
    assert page("link_type=email&active=false") == (1, ["link-4"])
    assert page("active=true&link_function=job") == (2, ["link-2", "link-0"])


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "offset=-1", "offset=10000001", "limit=abc", "limit=1_0",
                                   "limit=%D9%A4", "active=maybe", "link_function=" + "x" * 51, "link_type=%00"])
def test_bad_list_queries_are_400(client, operator_headers, query):
    response = client.get(f"{LINKS}?{query}", headers=operator_headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "Validation Failed"


def test_get_update_and_deactivate(client, operator_headers, create, app):
    tracking_id = create(tracking_id="cv-link").get_json()["tracking_id"]
    assert client.get(f"{LINKS}/{tracking_id}", headers=operator_headers).get_json()["original_url"] == (
        "https://example.com/job/1")
    updated = client.patch(f"{LINKS}/{tracking_id}", json={"original_url": "https://example.org/cv", "link_type": None},
                           headers=operator_headers)
    assert updated.status_code == 200
    assert (updated.get_json()["original_url"], updated.get_json()["link_type"]) == ("https://example.org/cv", None)
    refused = client.patch(f"{LINKS}/{tracking_id}", json={"original_url": "javascript:void(0)"},
                           headers=operator_headers)
    assert refused.status_code == 400
    deactivated = client.delete(f"{LINKS}/{tracking_id}", headers=operator_headers)
    assert (deactivated.status_code, deactivated.get_json()["is_active"]) == (200, False)
    reactivated = client.patch(f"{LINKS}/{tracking_id}", json={"is_active": True}, headers=operator_headers)
    assert reactivated.get_json()["is_active"] is True
    assert [event for event, _, _ in audit_events(app)] == [
        "link.created", "link.updated", "link.deactivated", "link.updated"]


def test_null_means_not_given(client, create, operator_headers, stored_links):
    """A front end that sends every field, null for those the operator left alone, changes nothing else."""
    nulls = {"link_function": None, "link_type": None, "description": None, "job_id": None, "application_id": None}
    created = create(**nulls, tracking_id=None)
    assert created.status_code == 201 and created.get_json()["tracking_id"].startswith("lt_")
    assert create(tracking_id="cv-link", link_type="job_posting", description="CV", job_id="job-7").status_code == 201
    updated = client.patch(f"{LINKS}/cv-link", json={**nulls, "original_url": None, "is_active": None,
                                                     "link_function": "cv"}, headers=operator_headers)
    assert updated.status_code == 200
    link = stored_links()["cv-link"]
    assert (link.original_url, link.link_function, link.link_type, link.description, link.job_id, link.is_active) == (
        "https://example.com/job/1", "cv", "job_posting", "CV", "job-7", True)
    emptied = client.patch(f"{LINKS}/cv-link", json={"description": ""}, headers=operator_headers)
    assert emptied.get_json()["description"] == ""
    assert create(original_url=None).status_code == 400, "a required field given null is still missing"


def test_unknown_keys_are_refused_on_the_operators_api(client, create, operator_headers, stored_links):
    create(tracking_id="cv-link")
    response = client.patch(f"{LINKS}/cv-link", json={"orignal_url": "https://example.org/"},
                            headers=operator_headers)
    assert response.status_code == 400
    assert response.get_json()["validation_errors"] == ["orignal_url: Unknown field."]
    assert stored_links()["cv-link"].original_url == "https://example.com/job/1"


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
@pytest.mark.parametrize("tracking_id", ["missing", "%00", "x" * 101])
def test_unknown_links_are_404(client, operator_headers, method, tracking_id):
    response = client.open(f"{LINKS}/{tracking_id}", method=method, json={}, headers=operator_headers)
    assert response.status_code == 404
    assert response.get_json() == {"success": False, "error": "Not Found", "message": "Tracking link not found"}


def test_an_auto_registered_id_can_be_given_a_destination(client, operator_headers, post_batch):
    post_batch([{"tracking_id": "linkedin-profile"}])
    link = client.get(f"{LINKS}/linkedin-profile", headers=operator_headers).get_json()
    assert (link["auto_registered"], link["original_url"]) == (True, None)
    assert client.get("/track/linkedin-profile").status_code == 404
    client.patch(f"{LINKS}/linkedin-profile", json={"original_url": "https://www.linkedin.com/in/someone"},
                 headers=operator_headers)
    assert client.get("/track/linkedin-profile").headers["Location"] == "https://www.linkedin.com/in/someone"
