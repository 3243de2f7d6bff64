"""The console's Link tracking pages: create a link and follow it (its click in the figures and on the chart),
edit, deactivate and reactivate (audited as the API's), the window choice, search and pages, the clicks CSV,
and who may use them."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.core.types import isoformat, utcnow
from modules.link_tracking.models import TrackedLink
from tests.console.conftest import create, csrf_token, sign_in
from tests.support.link_tracking import BATCH_PATH, TRACKING_KEY

LINKS = "/console/links"
DESTINATION = "https://jobs.example.com/apply?id=42"


def html_of(client, url, status=200):
    answer = client.get(url)
    assert answer.status_code == status, answer.get_data(as_text=True)[:3000]
    return answer.get_data(as_text=True)


def figure(html, name):
    found = re.search(rf'data-figure="{name}">(\d+)<', html)
    assert found, f"no {name} on the page"
    return int(found.group(1))


def post_form(client, url, form_page=LINKS, **fields):
    token = csrf_token(html_of(client, form_page))
    return client.post(url, data={"csrf_token": token, **fields})


def create_link(client, **fields):
    return post_form(client, LINKS, **{"original_url": DESTINATION, **fields})


def stored(app, tracking_id):
    with app.app_context():
        link = db.session.get(TrackedLink, tracking_id)
        db.session.expunge_all()
        return link


def audit_of(app, tracking_id):
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).where(AuditEntry.subject_id == tracking_id)
                                  .order_by(AuditEntry.id)).all()
        return [(row.event, row.actor, row.details) for row in rows]


def post_clicks(client, *events):
    answer = client.post(BATCH_PATH, json={"events": list(events)}, headers={"X-API-Key": TRACKING_KEY})
    assert answer.status_code == 200, answer.get_json()


@pytest.fixture
def agent_client(app):
    create(app, "agent@example.com", "agent")
    client = app.test_client()
    assert sign_in(client, "agent@example.com").status_code == 303
    return client


def test_a_link_created_on_the_page_is_followed_and_its_clicks_show_in_the_figures_and_on_the_chart(
        app, operator_client, field_operator, client):
    answer = create_link(operator_client, tracking_id="spring-cv", link_function="job_application",
                         link_type="job_posting", description="CV link")
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/console/links/spring-cv"
    link = stored(app, "spring-cv")
    assert (link.original_url, link.link_function, link.link_type, link.description, link.is_active) == (
        DESTINATION, "job_application", "job_posting", "CV link", True)
    assert audit_of(app, "spring-cv") == [("link.created", f"operator:{field_operator}", {})]

    page = html_of(operator_client, "/console/links/spring-cv")
    assert 'value="http://localhost/track/spring-cv"' in page, "the copy-ready tracking URL, under this host"
    assert (figure(page, "total_clicks"), figure(page, "unique_sessions")) == (0, 0)

    for _ in range(3):  # one visitor (the same lt_session cookie) clicking three times
        followed = client.get("/track/spring-cv?src=newsletter", headers={"Referer": "https://news.example/42"})
        assert (followed.status_code, followed.headers["Location"]) == (302, DESTINATION)
    app.test_client().get("/track/spring-cv")  # another visitor, no source: "redirect"

    page = html_of(operator_client, "/console/links/spring-cv")
    assert (figure(page, "total_clicks"), figure(page, "unique_sessions")) == (4, 2)
    assert "<td>newsletter</td><td class=\"num\">3</td>" in page
    assert "<td>redirect</td><td class=\"num\">1</td>" in page
    assert '<td class="mono">https://news.example/42</td><td class="num">3</td>' in page, "top referrers"
    assert '<td class="mono">(none sent)</td><td class="num">1</td>' in page
    today = utcnow().date().isoformat()
    assert f"<td>{today}</td><td class=\"num\">4</td>" in page, "the per-day table under the chart"
    assert 'src="/console/links/spring-cv/chart.svg?days=30"' in page

    svg = operator_client.get("/console/links/spring-cv/chart.svg?days=30")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
    assert "script-src" not in svg.headers["Content-Security-Policy"]
    body = svg.get_data(as_text=True)
    assert today in body, "the day's label"
    assert re.search(r'class="value">4</text>', body), "the day's count written on its bar"

    listed = html_of(operator_client, LINKS)
    assert re.search(r'spring-cv</a></td>.*?<td class="num">4</td><td class="num">4</td>', listed, re.S), \
        "clicks of the last 7 and 30 days in the list"

    last = html_of(operator_client, "/console/links/spring-cv/last-clicks")
    assert last.count("<td>newsletter</td>") == 3 and "<html" not in last, "the live region's fragment"


def test_the_tracking_url_is_under_public_url_when_set(app, operator_client):
    create_link(operator_client, tracking_id="shared")
    app.config["PUBLIC_URL"] = "https://hub.example.com/"
    try:
        assert 'value="https://hub.example.com/track/shared"' in html_of(operator_client, "/console/links/shared")
    finally:
        app.config["PUBLIC_URL"] = ""


def test_edit_changes_only_what_differs_and_is_audited(app, operator_client, field_operator):
    create_link(operator_client, tracking_id="spring-cv", description="CV link")
    detail = "/console/links/spring-cv"
    answer = post_form(operator_client, detail, detail, original_url="https://jobs.example.com/apply?id=43",
                       link_function="", link_type="job_posting", description="CV link")
    assert (answer.status_code, answer.headers["Location"]) == (303, detail)
    link = stored(app, "spring-cv")
    assert (link.original_url, link.link_type, link.description) == (
        "https://jobs.example.com/apply?id=43", "job_posting", "CV link")
    assert audit_of(app, "spring-cv")[-1] == (
        "link.updated", f"operator:{field_operator}", {"fields": ["link_type", "original_url"]})
    assert app.test_client().get("/track/spring-cv").headers["Location"] == "https://jobs.example.com/apply?id=43"


@pytest.mark.parametrize("url, reason", [
    ("javascript:alert(1)", "Destination: Not a usable destination"),
    ("https://bank.example@evil.example/", "Destination: Not a usable destination"),
    ("", "Destination: Not a usable destination"),
])
def test_an_edit_the_api_would_refuse_is_refused_with_its_reason_and_changes_nothing(app, operator_client, url,
                                                                                      reason):
    create_link(operator_client, tracking_id="spring-cv")
    detail = "/console/links/spring-cv"
    answer = post_form(operator_client, detail, detail, original_url=url, link_type="changed")
    assert answer.status_code == 422
    assert reason in answer.get_data(as_text=True)
    link = stored(app, "spring-cv")
    assert (link.original_url, link.link_type) == (DESTINATION, None)
    assert [event for event, _, _ in audit_of(app, "spring-cv")] == ["link.created"]


@pytest.mark.parametrize("fields, reason", [
    ({"original_url": "//evil.example/"}, "Destination: Not a usable destination"),
    ({"original_url": ""}, "Destination: Missing data for required field."),
    ({"tracking_id": "a b"}, "Tracking id: Use 3 to 100 letters"),
    ({"description": "x" * 501}, "Description: Longer than maximum length 500."),
])
def test_a_create_the_api_would_refuse_is_refused_with_its_reason_and_nothing_stored(app, operator_client, fields,
                                                                                       reason):
    answer = create_link(operator_client, **fields)
    assert answer.status_code == 422
    assert reason in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(TrackedLink)).all() == []


def test_a_taken_tracking_id_is_refused(app, operator_client):
    assert create_link(operator_client, tracking_id="spring-cv").status_code == 303
    answer = create_link(operator_client, tracking_id="spring-cv", original_url="https://other.example/")
    assert answer.status_code == 422
    assert "Tracking id: A link with this tracking_id already exists" in answer.get_data(as_text=True)
    assert stored(app, "spring-cv").original_url == DESTINATION


def test_a_link_without_a_chosen_id_gets_one(app, operator_client):
    answer = create_link(operator_client)
    assert re.fullmatch(r"/console/links/lt_[A-Za-z0-9_-]{16}", answer.headers["Location"])


def test_an_auto_registered_link_is_described_without_a_destination_then_given_one(app, operator_client, client):
    post_clicks(client, {"tracking_id": "from-tracker"})
    detail = "/console/links/from-tracker"
    assert "auto-registered" in html_of(operator_client, detail)
    answer = post_form(operator_client, detail, detail, original_url="", description="seen in the newsletter")
    assert answer.status_code == 303
    link = stored(app, "from-tracker")
    assert (link.original_url, link.description) == (None, "seen in the newsletter")
    assert post_form(operator_client, detail, detail, original_url=DESTINATION).status_code == 303
    assert client.get("/track/from-tracker").headers["Location"] == DESTINATION


def test_deactivate_and_reactivate_as_the_api_does(app, operator_client, field_operator, client):
    create_link(operator_client, tracking_id="spring-cv")
    detail = "/console/links/spring-cv"
    answer = post_form(operator_client, f"{detail}/deactivate", detail)
    assert (answer.status_code, answer.headers["Location"]) == (303, detail)
    assert stored(app, "spring-cv").is_active is False
    assert client.get("/track/spring-cv").status_code == 404
    assert "Reactivate" in html_of(operator_client, detail)

    assert post_form(operator_client, f"{detail}/reactivate", detail).status_code == 303
    assert stored(app, "spring-cv").is_active is True
    assert client.get("/track/spring-cv").status_code == 302
    assert audit_of(app, "spring-cv")[1:] == [
        ("link.deactivated", f"operator:{field_operator}", {}),
        ("link.updated", f"operator:{field_operator}", {"fields": ["is_active"]})]
    assert post_form(operator_client, f"{detail}/delete", detail).status_code == 404


def test_unknown_links_are_404_pages(operator_client):
    for url in ("/console/links/nope", "/console/links/nope/chart.svg", "/console/links/nope/last-clicks",
                "/console/link-clicks?tracking_id=nope"):
        answer = operator_client.get(url)
        assert answer.status_code == 404 and "Tracking link not found" in answer.get_data(as_text=True), url


def test_the_window_choice_counts_the_clicks_of_its_days(app, operator_client, client):
    create_link(operator_client, tracking_id="spring-cv")
    now = utcnow()
    post_clicks(client, *({"tracking_id": "spring-cv", "clicked_at": isoformat(now - timedelta(days=ago)),
                           "session_id": f"s-{ago}"} for ago in (0, 20, 60, 120)))
    for days, clicks in ((7, 1), (30, 2), (90, 3)):
        page = html_of(operator_client, f"/console/links/spring-cv?days={days}")
        assert (figure(page, "total_clicks"), figure(page, "unique_sessions")) == (clicks, clicks), days
        assert page.count('<td class="num">', page.index("Clicks per day (table)")) == days, "one row per day"
        svg = operator_client.get(f"/console/links/spring-cv/chart.svg?days={days}").get_data(as_text=True)
        assert len(re.findall(r'class="value">1</text>', svg)) == clicks, days
    assert figure(html_of(operator_client, "/console/links/spring-cv"), "total_clicks") == 2, "30 days by default"
    for bad in ("14", "abc", "-7"):
        assert operator_client.get(f"/console/links/spring-cv?days={bad}").status_code == 422
        assert operator_client.get(f"/console/links/spring-cv/chart.svg?days={bad}").status_code == 422


def test_search_filters_and_pages(app, operator_client):
    create_link(operator_client, tracking_id="spring-cv", link_function="job_application", description="100% CV")
    create_link(operator_client, tracking_id="portfolio", original_url="https://me.example/work",
                link_function="portfolio")
    create_link(operator_client, tracking_id="old_one", description="retired")
    post_form(operator_client, "/console/links/old_one/deactivate", "/console/links/old_one")

    def listed(query):
        return re.findall(r'href="/console/links/([^"/]+)"', html_of(operator_client, f"{LINKS}?{query}"))

    assert listed("") == ["old_one", "portfolio", "spring-cv"]
    assert listed("search=SPRING") == ["spring-cv"], "case-insensitive, on the tracking id"
    assert listed("search=me.example") == ["portfolio"], "on the destination"
    assert listed("search=100%25") == ["spring-cv"], "% matches itself"
    assert listed("search=_") == ["old_one"], "_ matches itself"
    assert listed("link_function=portfolio") == ["portfolio"]
    assert listed("active=false") == ["old_one"]
    assert listed("active=true&search=_") == [], "filters and search together"
    assert listed("active=false&search=retired") == ["old_one"]
    assert operator_client.get(f"{LINKS}?active=maybe").status_code == 422
    for bad in ("page=0", "page=%C2%B2", "page=x", "search=a%00b", "link_type=%00"):
        assert operator_client.get(f"{LINKS}?{bad}").status_code == 422, bad

    with app.app_context():
        db.session.add_all(TrackedLink(tracking_id=f"bulk-{n:02}", original_url=DESTINATION,
                                       created_at=utcnow() + timedelta(seconds=n)) for n in range(50))
        db.session.commit()
    first = html_of(operator_client, LINKS)
    assert 'rel="next"' in first and 'rel="prev"' not in first
    second = html_of(operator_client, f"{LINKS}?page=2")
    assert re.findall(r'href="/console/links/([^"/?]+)"', second) == ["old_one", "portfolio", "spring-cv"]
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_clicks_csv_of_a_window_is_formula_safe(app, operator_client, client):
    create_link(operator_client, tracking_id="spring-cv")
    create_link(operator_client, tracking_id="other")
    now = utcnow()
    post_clicks(client,
                {"tracking_id": "spring-cv", "clicked_at": isoformat(now), "referrer_url": "=HYPERLINK(\"x\")",
                 "click_source": "@mail", "event_id": "e-1", "metadata": {"campaign": "café"}},
                {"tracking_id": "spring-cv", "clicked_at": isoformat(now - timedelta(days=10)), "event_id": "e-2"},
                {"tracking_id": "other", "clicked_at": isoformat(now - timedelta(days=1)), "event_id": "e-3"})

    def rows(query):
        answer = operator_client.get(f"/console/link-clicks?{query}")
        assert answer.status_code == 200 and answer.mimetype == "text/csv"
        assert answer.headers["Content-Disposition"].startswith("attachment")
        return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))

    week = rows("days=7")
    assert [row["event_id"] for row in week] == ["e-3", "e-1"], "oldest first, only the window's"
    clicked = week[1]
    assert clicked["referrer_url"] == "'=HYPERLINK(\"x\")" and clicked["click_source"] == "'@mail"
    assert clicked["metadata"] == '{"campaign":"café"}'
    assert clicked["tracking_id"] == "spring-cv" and clicked["clicked_at"].startswith(now.date().isoformat())
    assert [row["event_id"] for row in rows("days=30")] == ["e-2", "e-3", "e-1"]
    assert [row["event_id"] for row in rows("days=30&tracking_id=spring-cv")] == ["e-2", "e-1"]
    assert operator_client.get("/console/link-clicks?days=8").status_code == 422


def test_clicks_csv_reads_a_large_window_in_chunks(app, operator_client, client, monkeypatch):
    from modules.link_tracking import analytics
    monkeypatch.setattr(analytics, "EXPORT_CHUNK", 2)
    now = utcnow()
    post_clicks(client, *({"tracking_id": "bulk", "clicked_at": isoformat(now - timedelta(minutes=n)),
                           "event_id": f"e-{n}"} for n in range(5)))
    answer = operator_client.get("/console/link-clicks?days=7")
    ids = [row["event_id"] for row in csv.DictReader(io.StringIO(answer.get_data(as_text=True)))]
    assert ids == [f"e-{n}" for n in range(4, -1, -1)], "every click once, across chunks"


PAGES = ["/console/links", "/console/links/spring-cv", "/console/links/spring-cv/chart.svg",
         "/console/links/spring-cv/last-clicks", "/console/link-clicks?days=7"]
ACTIONS = ["/console/links", "/console/links/spring-cv", "/console/links/spring-cv/deactivate",
           "/console/links/spring-cv/reactivate"]


def test_an_agent_gets_403_on_every_page_and_action(app, operator_client, agent_client):
    create_link(operator_client, tracking_id="spring-cv")
    token = csrf_token(html_of(agent_client, "/console/overview"))
    for url in PAGES:
        assert agent_client.get(url).status_code == 403, url
    for url in ACTIONS:
        answer = agent_client.post(url, data={"csrf_token": token, "original_url": "https://evil.example/"})
        assert answer.status_code == 403, url
    link = stored(app, "spring-cv")
    assert (link.original_url, link.is_active) == (DESTINATION, True)
    assert "/console/links" not in html_of(agent_client, "/console/overview"), "not in an agent's navigation"


def test_an_admin_may_use_the_pages(admin_client):
    assert create_link(admin_client, tracking_id="by-admin").status_code == 303
    assert admin_client.get("/console/links/by-admin").status_code == 200


def test_a_visitor_not_signed_in_is_sent_to_sign_in(client):
    for url in PAGES:
        answer = client.get(url)
        assert answer.status_code == 303 and "/console/login" in answer.headers["Location"], url


def test_a_post_without_the_csrf_token_is_refused(app, operator_client):
    create_link(operator_client, tracking_id="spring-cv")
    for url in ACTIONS:
        answer = operator_client.post(url, data={"original_url": "https://evil.example/", "tracking_id": "forged"})
        assert answer.status_code == 400, url
    link = stored(app, "spring-cv")
    assert (link.original_url, link.is_active, stored(app, "forged")) == (DESTINATION, True, None)
