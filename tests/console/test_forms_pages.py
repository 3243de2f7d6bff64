"""The console's SentraTech forms pages: records posted through the ingest API shown per form with their sync
state and the dashboard's answer, keyset pages, the live fragment, CSV; re-sync one and re-sync failed through
the API's service, against a local dashboard peer; roles and CSRF."""

import csv
import io
import re

import pytest
from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxMessage
from modules.sentratech.models import DemoRequest
from tests.console.conftest import create, csrf_token, sign_in
from tests.support.sentratech import INGEST_HEADERS, valid_body
from tests.support.worker import Drainer

SYNC_KIND = "sentratech.dashboard_sync"


@pytest.fixture
def app(make_app, httpserver):
    """The hub with the local dashboard peer (no service account: the peer takes records without a login)."""
    return make_app(DASHBOARD_BASE_URL=httpserver.url_for("/"))


@pytest.fixture
def agent_client(app):
    create(app, "agent@example.com", "agent")
    client = app.test_client()
    assert sign_in(client, "agent@example.com").status_code == 303
    return client


def post_form(app, form, **changes):
    answer = app.test_client().post(f"/api/ingest/{form}", json=valid_body(form, **changes), headers=INGEST_HEADERS)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["id"]


def html_of(client, url, status=200):
    answer = client.get(url)
    assert answer.status_code == status, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def listed_ids(html):
    return re.findall(r'href="/console/forms/[a-z]+/([0-9a-f-]{36})"', html)


def states_shown(html):
    """The sync state badges of the table's rows, in order."""
    return re.findall(r'<td><span class="badge [a-z]+">(pending|synced|failed)</span></td>', html)


def sync_messages(app, record_id):
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject_id == record_id,
                                                                   OutboxMessage.kind == SYNC_KIND)))


def sync_state(app, record_id):
    with app.app_context():
        return db.session.get(DemoRequest, record_id).sync_status


def test_a_posted_form_shows_on_its_tab_with_its_fields_pending_then_synced(app, operator_client, httpserver):
    demo = post_form(app, "demo_requests", company="Acme Widgets")
    contact = post_form(app, "contact_requests")
    html = html_of(operator_client, "/console/forms?form=demo")
    assert listed_ids(html) == [demo], "the demo tab lists demo requests only"
    assert "Acme Widgets" in html and "ada@example.com" in html and states_shown(html) == ["pending"]
    assert listed_ids(html_of(operator_client, "/console/forms?form=contact")) == [contact]
    assert listed_ids(html_of(operator_client, "/console/forms")) == [demo], "the demo tab by default"

    httpserver.expect_request("/v1/demo_requests").respond_with_json({}, status=201)
    Drainer(app).drain()
    html = html_of(operator_client, "/console/forms?form=demo")
    assert states_shown(html) == ["synced"]
    assert listed_ids(html_of(operator_client, "/console/forms?form=demo&state=synced")) == [demo]
    assert listed_ids(html_of(operator_client, "/console/forms?form=demo&state=pending")) == []
    detail = html_of(operator_client, f"/console/forms/demo/{demo}")
    assert "Acme Widgets" in detail and "We would like a demo." in detail and "201" in detail


def test_a_failing_dashboard_shows_its_answer_and_resync_failed_delivers_through_the_service(
        app, operator_client, field_operator, httpserver):
    httpserver.expect_oneshot_request("/v1/demo_requests").respond_with_json({"detail": "unknown company"}, status=400)
    failed = post_form(app, "demo_requests")
    Drainer(app).drain()
    assert sync_state(app, failed) == "sync_failed"
    html = html_of(operator_client, "/console/forms?form=demo&state=failed")
    assert listed_ids(html) == [failed] and states_shown(html) == ["failed"]
    assert "HTTP 400" in html and "unknown company" in html, "the dashboard's answer, from the outbox message"
    detail = html_of(operator_client, f"/console/forms/demo/{failed}")
    assert "unknown company" in detail and "400" in detail

    page_html = html_of(operator_client, "/console/forms?form=demo")
    assert "Re-sync the 1 failed demo request(s)" in page_html
    answer = operator_client.post("/console/forms/resync-failed",
                                  data={"csrf_token": csrf_token(page_html), "form": "demo"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/console/forms?form=demo"
    assert "Queued 1 failed demo request(s)" in html_of(operator_client, "/console/forms?form=demo")
    assert [message.status for message in sync_messages(app, failed)] == ["dead", "pending"], "a new message"
    assert sync_state(app, failed) == "pending_dashboard_sync"
    with app.app_context():
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.event == "demo_requests.resync"))
        assert (entry.actor, entry.details) == (f"operator:{field_operator}", {"queued": 1})

    httpserver.expect_request("/v1/demo_requests").respond_with_json({}, status=201)
    Drainer(app).drain()
    assert sync_state(app, failed) == "synced_to_dashboard"


def test_resync_one_queues_that_record_only_and_not_twice(app, operator_client, httpserver):
    httpserver.expect_request("/v1/demo_requests").respond_with_json({}, status=201)
    first, second = post_form(app, "demo_requests"), post_form(app, "demo_requests")
    Drainer(app).drain()
    detail = html_of(operator_client, f"/console/forms/demo/{first}")
    answer = operator_client.post(f"/console/forms/demo/{first}/resync", data={"csrf_token": csrf_token(detail)})
    assert answer.status_code == 303 and answer.headers["Location"] == f"/console/forms/demo/{first}"
    assert "Queued for the dashboard again" in html_of(operator_client, answer.headers["Location"])
    assert [message.status for message in sync_messages(app, first)] == ["delivered", "pending"]
    assert len(sync_messages(app, second)) == 1, "the other record is left alone"

    operator_client.post(f"/console/forms/demo/{first}/resync", data={"csrf_token": csrf_token(detail)})
    assert "already waiting" in html_of(operator_client, f"/console/forms/demo/{first}")
    assert len(sync_messages(app, first)) == 2
    Drainer(app).drain()
    keys = [request.headers["Idempotency-Key"] for request, _ in httpserver.log]
    assert keys == [f"{first}:1", f"{second}:1", f"{first}:1"]


def test_without_a_dashboard_a_resync_says_why(make_app):
    app = make_app()
    create(app, "field@example.com", "operator")
    client = app.test_client()
    sign_in(client, "field@example.com")
    record_id = post_form(app, "roi_reports")
    detail = html_of(client, f"/console/forms/roi/{record_id}")
    assert "DASHBOARD_BASE_URL is not set" in detail
    client.post(f"/console/forms/roi/{record_id}/resync", data={"csrf_token": csrf_token(detail)})
    assert "Not re-synced: DASHBOARD_BASE_URL is not set" in html_of(client, f"/console/forms/roi/{record_id}")
    assert sync_messages(app, record_id) == []


def test_keyset_pages_cover_every_record_once_newest_first(app, operator_client):
    ids = [post_form(app, "subscriptions", email=f"reader{n}@example.com") for n in range(53)]
    first = html_of(operator_client, "/console/forms?form=subscription")
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = html_of(operator_client, older)
    assert 'rel="next"' not in second
    seen = listed_ids(first) + listed_ids(second)
    assert len(listed_ids(first)) == 50 and sorted(seen) == sorted(ids) and len(set(seen)) == 53
    with app.app_context():
        from modules.sentratech.models import Subscription

        created = dict(db.session.execute(select(Subscription.id, Subscription.created_at)).all())
    assert [created[i] for i in seen] == sorted(created.values(), reverse=True)


def test_the_live_fragment_is_the_table_without_the_layout_and_shows_a_new_form(app, operator_client):
    html = html_of(operator_client, "/console/forms?form=roi")
    assert 'data-live-src="/console/forms/live?form=roi" data-live-topics="records"' in html
    assert "No roi report matches" in html_of(operator_client, "/console/forms/live?form=roi")
    record_id = post_form(app, "roi_reports")
    fragment = html_of(operator_client, "/console/forms/live?form=roi")
    assert "<html" not in fragment and listed_ids(fragment) == [record_id]


def test_the_csv_has_every_matching_record_with_its_fields_and_state(app, operator_client):
    ids = [post_form(app, "contact_requests", company_name=name) for name in ("=HYPERLINK()", "Plain Co")]
    answer = operator_client.get("/console/forms?form=contact&format=csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert [row["id"] for row in rows] == ids[::-1]
    assert [row["company_name"] for row in rows] == ["Plain Co", "'=HYPERLINK()"], "formula-safe"
    assert {row["sync_state"] for row in rows} == {"pending"} and rows[0]["work_email"] == "ben@example.com"
    assert operator_client.get("/console/forms?form=contact&format=csv&state=failed").get_data(
        as_text=True).count("\n") == 1, "the header only"


@pytest.mark.parametrize("url, status, says", [
    ("/console/forms?form=newsletter", 404, "No form tab named"),
    ("/console/forms?form=demo&state=lost", 422, "state must be one of"),
    ("/console/forms?form=demo&after=not-a-cursor", 422, "page cursor"),
    ("/console/forms/demo/00000000-0000-0000-0000-000000000000", 404, "No demo request has the id"),
])
def test_a_bad_tab_filter_cursor_or_id_is_a_page_saying_why(operator_client, url, status, says):
    assert says in html_of(operator_client, url, status)


def test_an_agent_may_neither_open_nor_post(app, agent_client):
    record_id = post_form(app, "demo_requests")
    token = csrf_token(html_of(agent_client, "/console/overview"))
    for url in ("/console/forms", "/console/forms/live?form=demo", f"/console/forms/demo/{record_id}"):
        assert agent_client.get(url).status_code == 403
    for url, data in ((f"/console/forms/demo/{record_id}/resync", {}), ("/console/forms/resync-failed",
                                                                        {"form": "demo"})):
        assert agent_client.post(url, data={"csrf_token": token, **data}).status_code == 403
    assert sync_messages(app, record_id)[0].status == "pending" and len(sync_messages(app, record_id)) == 1


def test_a_post_without_the_csrf_token_is_refused(app, operator_client):
    record_id = post_form(app, "demo_requests")
    assert operator_client.post(f"/console/forms/demo/{record_id}/resync").status_code == 400
    assert operator_client.post("/console/forms/resync-failed", data={"form": "demo"}).status_code == 400
    assert len(sync_messages(app, record_id)) == 1


def test_an_admin_sees_the_pages_and_links_to_the_deliveries(app, admin_client, httpserver):
    httpserver.expect_request("/v1/demo_requests").respond_with_json({}, status=201)
    record_id = post_form(app, "demo_requests")
    Drainer(app).drain()
    [message] = sync_messages(app, record_id)
    assert f"/console/deliveries/{message.id}" in html_of(admin_client, f"/console/forms/demo/{record_id}")
    assert 'href="/console/forms"' in html_of(admin_client, "/console/overview"), "in the navigation"
