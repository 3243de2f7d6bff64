"""The console's FASTCore leads pages: leads posted through the ingest API listed with status and service
filters and a search, keyset pages, the live fragment, CSV; a lead's audit trail and e-mails; a status change
through the admin API's service; the fallback queue and its flush; roles and CSRF."""

import csv
import io
import re

import pytest
from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.fastcore.models import Lead
from tests.console.conftest import create, csrf_token, sign_in
from tests.support.fastcore import ADMIN, ADMIN_INBOX, SITE, UNREACHABLE_DATABASE, lead_body
from tests.support.worker import Drainer


@pytest.fixture
def fastcore_settings(smtp_server, tmp_path) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port, "SMTP_TLS": False,
            "FROM_EMAIL": "leads@example.com", "ADMIN_EMAIL": ADMIN_INBOX,
            "FASTCORE_FALLBACK_FILE": str(tmp_path / "fastcore_fallback.jsonl"),
            "FASTCORE_ADMIN_TOKEN": ADMIN["Authorization"].removeprefix("Bearer ")}


@pytest.fixture
def app(make_app, fastcore_settings):
    return make_app(**fastcore_settings)


@pytest.fixture
def agent_client(app):
    create(app, "agent@example.com", "agent")
    client = app.test_client()
    assert sign_in(client, "agent@example.com").status_code == 303
    return client


def post_lead(app, **changes):
    answer = app.test_client().post("/inbound/leads", json=lead_body(**changes), headers=SITE)
    assert answer.status_code in (201, 202), answer.get_data(as_text=True)
    return answer.get_json()["leadId"]


def html_of(client, url, status=200):
    answer = client.get(url)
    assert answer.status_code == status, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def listed_ids(html):
    return re.findall(r'href="/console/leads/([0-9a-f-]{36})"', html)


def stored_lead(app, lead_id):
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        return lead and (lead.status, lead.received_via)


def test_filters_and_search_narrow_the_list_newest_first(app, operator_client):
    first = post_lead(app, name="Marie Curie", email="marie@radium.example", company="Radium SA", service="ponts")
    second = post_lead(app, name="Louis Pasteur", email="louis@lab.example", company=None, service="cabines")
    third = post_lead(app, name="Ada 100%_Lovelace", email="ada@engine.example", company="Engine Ltd", service=None)

    def listed(**args):
        answer = operator_client.get("/console/leads", query_string=args)
        assert answer.status_code == 200, answer.get_data(as_text=True)
        return listed_ids(answer.get_data(as_text=True))

    assert listed() == [third, second, first]
    assert listed(service="ponts") == [first] and listed(service="CABINES") == [second]
    assert listed(status="received") == [third, second, first] and listed(status="resolved") == []
    assert listed(q="curie") == [first], "part of the name, any case"
    assert listed(q="LAB.example") == [second], "part of the e-mail"
    assert listed(q="engine ltd") == [third], "part of the company"
    assert listed(q="100%_") == [third] and listed(q="%") == [third], "LIKE's wildcards taken literally"
    assert listed(q="radium", service="cabines") == []
    html = html_of(operator_client, "/console/leads")
    assert "Marie Curie" in html and "marie@radium.example" in html and "Radium SA" in html


@pytest.mark.parametrize("args, says", [
    ({"status": "lost"}, "Invalid status. Must be one of: received, processing, resolved, archived"),
    ({"service": "plumbing"}, "service must be one of: ponts, cabines"),
    ({"q": "x" * 201}, "longer than 200 characters"),
    ({"after": "not-a-cursor"}, "page cursor"),
])
def test_a_bad_filter_value_is_a_422_page_saying_why(operator_client, args, says):
    answer = operator_client.get("/console/leads", query_string=args)
    assert answer.status_code == 422 and says in answer.get_data(as_text=True)
    if "after" not in args:
        assert operator_client.get("/console/leads", query_string={**args, "format": "csv"}).status_code == 422


def test_keyset_pages_and_the_live_fragment(app, operator_client):
    ids = [post_lead(app, name=f"Lead {n}") for n in range(52)]
    first = html_of(operator_client, "/console/leads")
    assert 'data-live-src="/console/leads/live" data-live-topics="records"' in first
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = html_of(operator_client, older)
    assert listed_ids(first) + listed_ids(second) == ids[::-1]
    newest = post_lead(app, name="Newest Lead")
    fragment = html_of(operator_client, "/console/leads/live")
    assert "<html" not in fragment and listed_ids(fragment)[0] == newest


def test_a_status_change_goes_through_the_service_and_shows_in_the_audit_trail(app, operator_client, field_operator):
    lead_id = post_lead(app)
    Drainer(app).drain()
    detail = html_of(operator_client, f"/console/leads/{lead_id}")
    assert "lead.received" in detail and "Jeanne Test" in detail
    answer = operator_client.post(f"/console/leads/{lead_id}/status",
                                  data={"csrf_token": csrf_token(detail), "status": "Processing"})
    assert answer.status_code == 303 and answer.headers["Location"] == f"/console/leads/{lead_id}"
    detail = html_of(operator_client, f"/console/leads/{lead_id}")
    assert "The lead is now processing" in detail
    assert "lead.status_changed" in detail and f"operator:{field_operator}" in detail and "to: processing" in detail
    assert stored_lead(app, lead_id)[0] == "processing"
    api = app.test_client().get(f"/admin/leads/{lead_id}", headers=ADMIN).get_json()
    assert api["status"] == "processing"
    assert [entry["event"] for entry in api["audit_logs"]][-1] == "lead.status_changed"
    assert listed_ids(html_of(operator_client, "/console/leads?status=processing")) == [lead_id]

    operator_client.post(f"/console/leads/{lead_id}/status", data={"csrf_token": csrf_token(detail), "status": "lost"})
    assert "Status not changed: Invalid status" in html_of(operator_client, f"/console/leads/{lead_id}")
    assert stored_lead(app, lead_id)[0] == "processing"
    missing = "00000000-0000-0000-0000-000000000000"
    assert operator_client.post(f"/console/leads/{missing}/status",
                                data={"csrf_token": csrf_token(detail), "status": "resolved"}).status_code == 404
    assert "Lead not found" in html_of(operator_client, "/console/leads/not-a-uuid", 404)


def test_a_lead_page_shows_its_emails_and_their_delivery(app, operator_client, smtp_server):
    lead_id = post_lead(app)
    detail = html_of(operator_client, f"/console/leads/{lead_id}")
    assert "Welcome e-mail to the lead" in detail and "Alert to the office" in detail
    assert detail.count('class="badge pending">pending<') == 2 and "No attempt yet" in detail
    Drainer(app).drain()
    detail = html_of(operator_client, f"/console/leads/{lead_id}")
    assert detail.count('class="badge delivered">delivered<') == 2
    assert detail.count("<td>delivered</td>") == 2 and "250" in detail, "each attempt with its SMTP answer"
    without_consent = post_lead(app, consent=False)
    assert "Welcome e-mail" not in html_of(operator_client, f"/console/leads/{without_consent}")


def test_the_fallback_queue_shows_its_size_and_the_flush_writes_it(app, make_app, fastcore_settings, operator_client):
    down = make_app(**fastcore_settings, DATABASE_URL=UNREACHABLE_DATABASE)
    queued = [post_lead(down), post_lead(down)]
    html = html_of(operator_client, "/console/leads")
    assert re.search(r"<dt>Queued</dt><dd>2</dd>", html)
    assert re.search(r"<dt>0 failed attempts</dt><dd>2</dd>", html)
    assert listed_ids(html) == []
    answer = operator_client.post("/console/leads/queue/flush", data={"csrf_token": csrf_token(html)})
    assert answer.status_code == 303 and answer.headers["Location"] == "/console/leads"
    html = html_of(operator_client, "/console/leads")
    assert "Flushed 2 lead(s)" in html and re.search(r"<dt>Queued</dt><dd>0</dd>", html)
    assert sorted(listed_ids(html)) == sorted(queued)
    assert [stored_lead(app, lead_id) for lead_id in queued] == [("received", "redis")] * 2
    assert app.test_client().get("/admin/queue/stats", headers=ADMIN).get_json()["queue_size"] == 0


def test_the_csv_has_every_matching_lead(app, operator_client):
    ids = [post_lead(app, name=name, service="diagnostic") for name in ("=cmd|' /C calc'!A0", "Plain Name")]
    post_lead(app, service="autre")
    answer = operator_client.get("/console/leads?service=diagnostic&format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [row["id"] for row in rows] == ids[::-1]
    assert [row["name"] for row in rows] == ["Plain Name", "'=cmd|' /C calc'!A0"], "formula-safe"
    assert rows[0]["status"] == "received" and rows[0]["source"] == "contact-page"


def test_an_agent_may_neither_open_nor_post(app, agent_client):
    lead_id = post_lead(app)
    token = csrf_token(html_of(agent_client, "/console/overview"))
    for url in ("/console/leads", "/console/leads/live", f"/console/leads/{lead_id}"):
        assert agent_client.get(url).status_code == 403
    for url, data in ((f"/console/leads/{lead_id}/status", {"status": "archived"}), ("/console/leads/queue/flush", {})):
        assert agent_client.post(url, data={"csrf_token": token, **data}).status_code == 403
    assert stored_lead(app, lead_id)[0] == "received"
    with app.app_context():
        assert not db.session.scalars(select(AuditEntry).where(AuditEntry.event == "lead.status_changed")).all()


def test_a_post_without_the_csrf_token_is_refused(app, operator_client):
    lead_id = post_lead(app)
    assert operator_client.post(f"/console/leads/{lead_id}/status", data={"status": "archived"}).status_code == 400
    assert operator_client.post("/console/leads/queue/flush").status_code == 400
    assert stored_lead(app, lead_id)[0] == "received"
