"""The admin API: auth, listing and filters, detail with audit trail, status changes, health and jobs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.core.scheduler import Scheduler
from modules.fastcore.models import Lead
from tests.support.fastcore import ADMIN, SITE, lead_body

ADMIN_PATHS = [
    ("GET", "/admin/health"),
    ("GET", "/admin/leads"),
    ("GET", f"/admin/leads/{uuid.uuid4()}"),
    ("PATCH", f"/admin/leads/{uuid.uuid4()}/status?new_status=resolved"),
    ("GET", "/admin/queue/stats"),
    ("POST", "/admin/queue/flush"),
    ("POST", "/admin/queue/replay"),
    ("DELETE", "/admin/queue/clear"),
    ("GET", "/admin/scheduler/jobs"),
]


@pytest.mark.parametrize("method, path", ADMIN_PATHS)
def test_every_admin_path_needs_admin_auth(client, method, path):
    missing = client.open(path, method=method)
    assert missing.status_code == 401
    assert missing.get_json() == {"detail": "Missing Authorization header"}
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    site_only = client.open(path, method=method, headers=SITE)
    assert site_only.status_code == 401
    assert site_only.get_json() == {"detail": "Invalid token"}
    scheme = client.open(path, method=method, headers={"Authorization": "Token test-admin-token"})
    assert scheme.get_json() == {"detail": "Invalid auth scheme (use 'Bearer <token>')"}


def test_an_operator_token_opens_the_admin_api_and_is_the_audited_actor(app, client, operator_headers):
    lead_id = client.post("/inbound/leads", json=lead_body(), headers=SITE).get_json()["leadId"]
    assert client.get("/admin/leads", headers=operator_headers).status_code == 200
    response = client.patch(f"/admin/leads/{lead_id}/status?new_status=processing", headers=operator_headers)
    assert response.status_code == 200
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.event == "lead.status_changed"))
        assert entry.actor.startswith("operator:") and "@" not in entry.actor


def add_leads(app, count):
    """Leads with distinct creation times, oldest first; statuses alternate received/processing."""
    ids = []
    with app.app_context():
        for number in range(count):
            lead = Lead(request_id=str(uuid.uuid4()), name=f"Lead {number}", email=f"lead{number}@example.com",
                        message="Hello", consent=False, meta={}, status=("received", "processing")[number % 2],
                        created_at=datetime(2026, 11, 1, 9, number, tzinfo=UTC))
            db.session.add(lead)
            db.session.flush()
            ids.append(lead.id)
        db.session.commit()
    return ids


def test_leads_are_listed_newest_first_with_paging_and_a_status_filter(app, client):
    ids = add_leads(app, 5)
    page = client.get("/admin/leads?limit=2&offset=1", headers=ADMIN).get_json()
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    assert [lead["id"] for lead in page["leads"]] == [ids[3], ids[2]]
    assert page["leads"][0] == {"id": ids[3], "name": "Lead 3", "email": "lead3@example.com", "service": None,
                                "status": "processing", "created_at": "2026-11-01T09:03:00+00:00"}
    default = client.get("/admin/leads", headers=ADMIN).get_json()
    assert (default["limit"], default["offset"], len(default["leads"])) == (50, 0, 5)
    processing = client.get("/admin/leads?status_filter=processing", headers=ADMIN).get_json()
    assert processing["total"] == 2 and [lead["id"] for lead in processing["leads"]] == [ids[3], ids[1]]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=abc", "offset=-1", "status_filter=lost"])
def test_bad_list_parameters_are_422(client, query):
    response = client.get(f"/admin/leads?{query}", headers=ADMIN)
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"][0] == "query"


def test_the_detail_has_the_full_lead_its_meta_and_its_audit_trail(client):
    body = lead_body()
    lead_id = client.post("/inbound/leads", json=body, headers=SITE).get_json()["leadId"]
    client.patch(f"/admin/leads/{lead_id}/status?new_status=resolved", headers=ADMIN)
    detail = client.get(f"/admin/leads/{lead_id}", headers=ADMIN).get_json()
    assert {key: detail[key] for key in ("id", "name", "email", "phone", "company", "service", "message",
                                         "consent", "status", "request_id")} == {
        "id": lead_id, "name": body["name"], "email": body["email"], "phone": body["phone"],
        "company": body["company"], "service": body["service"], "message": body["message"], "consent": True,
        "status": "resolved", "request_id": body["meta"]["request_id"]}
    assert detail["meta"]["ip_hash"] == "iphash-0001" and detail["meta"]["source"] == "contact-page"
    assert [(log["event"], log["actor"], log["status_code"]) for log in detail["audit_logs"]] == [
        ("lead.received", "key:FASTCORE_SITE_INGEST_TOKEN", 201),
        ("lead.status_changed", "key:FASTCORE_ADMIN_TOKEN", 200)]
    assert detail["audit_logs"][1]["details"] == {"from": "received", "to": "resolved"}
    assert set(detail["audit_logs"][0]) == {"event", "actor", "status_code", "details", "created_at"}


@pytest.mark.parametrize("lead_id", [str(uuid.uuid4()), "not-a-uuid", "x" * 500, "%00"])
def test_an_unknown_lead_is_a_404(client, lead_id):
    for method, path in (("GET", f"/admin/leads/{lead_id}"),
                         ("PATCH", f"/admin/leads/{lead_id}/status?new_status=archived")):
        response = client.open(path, method=method, headers=ADMIN)
        assert response.status_code == 404
        assert response.get_json() == {"detail": "Lead not found"}


def test_a_status_change_is_stored_and_an_invalid_one_refused_before_the_lookup(app, client):
    [lead_id] = add_leads(app, 1)
    response = client.patch(f"/admin/leads/{lead_id}/status?new_status=archived", headers=ADMIN)
    assert response.status_code == 200
    assert response.get_json() == {"id": lead_id, "status": "archived"}
    with app.app_context():
        assert db.session.get(Lead, lead_id).status == "archived"
    invalid = {"detail": "Invalid status. Must be one of: received, processing, resolved, archived"}
    for target in (lead_id, str(uuid.uuid4())):
        long_value = client.patch(f"/admin/leads/{target}/status?new_status={'x' * 5000}", headers=ADMIN)
        assert (long_value.status_code, long_value.get_json()) == (400, invalid)
        response = client.patch(f"/admin/leads/{target}/status?new_status=deleted", headers=ADMIN)
        assert (response.status_code, response.get_json()) == (400, invalid)
    assert client.patch(f"/admin/leads/{lead_id}/status", headers=ADMIN).status_code == 422


def test_admin_health_and_scheduler_jobs_show_the_flush_job(app, client):
    health = client.get("/admin/health", headers=ADMIN).get_json()
    assert (health["status"], health["scheduler_running"]) == ("ok", False)
    assert health["emails"] == {"smtp_configured": True, "pending": 0, "delivered": 0, "dead": 0}
    jobs = client.get("/admin/scheduler/jobs", headers=ADMIN).get_json()
    flush = next(job for job in jobs["jobs"] if job["id"] == "fastcore.flush_queue")
    assert flush == {"id": "fastcore.flush_queue", "name": "Write queued FASTCore leads to the database",
                     "next_run_time": None}

    Scheduler(app).run_due(datetime.now(UTC))
    jobs = client.get("/admin/scheduler/jobs", headers=ADMIN).get_json()
    assert jobs["scheduler_running"] is True
    flush = next(job for job in jobs["jobs"] if job["id"] == "fastcore.flush_queue")
    assert datetime.fromisoformat(flush["next_run_time"]) > datetime.now(UTC)
    assert client.get("/admin/health", headers=ADMIN).get_json()["scheduler_running"] is True


def test_admin_reads_answer_503_while_the_database_is_down(database_down_app):
    response = database_down_app.test_client().get("/admin/leads", headers=ADMIN)
    assert response.status_code == 503
    assert response.get_json() == {"detail": "Service temporarily unavailable, please retry"}


@pytest.mark.parametrize("status_filter", ["processing", "PROCESSING", "Processing", "%20processing%20"])
def test_the_status_filter_takes_a_status_in_any_case(app, client, status_filter):
    ids = add_leads(app, 4)
    page = client.get(f"/admin/leads?status_filter={status_filter}", headers=ADMIN).get_json()
    assert (page["total"], [lead["id"] for lead in page["leads"]]) == (2, [ids[3], ids[1]])
    received = client.get("/admin/leads?status_filter=RECEIVED", headers=ADMIN).get_json()
    assert [lead["id"] for lead in received["leads"]] == [ids[2], ids[0]]


@pytest.mark.parametrize("query, shown", [("limit=2&offset=1", (2, 1)), ("limit=%202%20&offset=+1", (2, 1)),
                                          ("limit=2.0&offset=01", (2, 1))])
def test_paging_takes_digit_strings_as_the_original_did(app, client, query, shown):
    ids = add_leads(app, 4)
    page = client.get(f"/admin/leads?{query}", headers=ADMIN).get_json()
    assert ((page["limit"], page["offset"]), [lead["id"] for lead in page["leads"]]) == (shown, [ids[2], ids[1]])


@pytest.mark.parametrize("query", ["limit=1_0", "limit=%D9%A5", "limit=2.5", "limit=1e1", "limit=", "offset=1,000",
                                   "status_filter=receivedd", "status_filter=%C5%BFtatus"])
def test_paging_and_filter_values_that_could_be_read_two_ways_are_422(client, query):
    response = client.get(f"/admin/leads?{query}", headers=ADMIN)
    assert response.status_code == 422
    [item] = response.get_json()["detail"]
    assert item["loc"] == ["query", query.split("=")[0]]


@pytest.mark.parametrize("sent", ["RESOLVED", "Resolved", "rEsOlVeD", "%20resolved%20"])
def test_a_status_change_takes_a_status_in_any_case_and_stores_it_canonically(app, client, sent):
    [lead_id] = add_leads(app, 1)
    response = client.patch(f"/admin/leads/{lead_id}/status?new_status={sent}", headers=ADMIN)
    assert (response.status_code, response.get_json()) == (200, {"id": lead_id, "status": "resolved"})
    with app.app_context():
        assert db.session.get(Lead, lead_id).status == "resolved"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.event == "lead.status_changed"))
        assert entry.details == {"from": "received", "to": "resolved"}
    assert client.get("/admin/leads?status_filter=resolved", headers=ADMIN).get_json()["total"] == 1


@pytest.mark.parametrize("sent", ["resolve", "RESOLVED!", "ʀesolved", "resolved%00", "", "%20"])
def test_a_status_that_is_none_of_the_choices_in_any_case_is_still_a_400_before_the_lookup(app, client, sent):
    [lead_id] = add_leads(app, 1)
    invalid = {"detail": "Invalid status. Must be one of: received, processing, resolved, archived"}
    for target in (lead_id, str(uuid.uuid4())):
        response = client.patch(f"/admin/leads/{target}/status?new_status={sent}", headers=ADMIN)
        assert (response.status_code, response.get_json()) == (400, invalid)
    with app.app_context():
        assert db.session.get(Lead, lead_id).status == "received"
