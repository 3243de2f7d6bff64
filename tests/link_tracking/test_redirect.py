"""GET /track/<tracking_id>: the click is recorded and the visitor sent on; nothing else is redirected."""

from datetime import UTC, datetime, timedelta

import pytest


@pytest.fixture
def link(client, operator_headers):
    response = client.post("/api/link-tracking/links", headers=operator_headers,
                           json={"original_url": "https://jobs.example.com/apply?id=42&ref=cv", "tracking_id": "cv-1"})
    return response.get_json()


def test_a_click_is_recorded_and_redirected(client, link, stored_clicks):
    response = client.get("/track/cv-1?src=newsletter", headers={"User-Agent": "Mozilla/5.0 (test)",
                                                                  "Referer": "https://mail.example.com/"})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://jobs.example.com/apply?id=42&ref=cv"
    assert response.headers["Cache-Control"] == "no-store"
    [click] = stored_clicks()
    assert (click.tracking_id, click.click_source, click.user_agent, click.referrer_url, click.ip_address) == (
        "cv-1", "newsletter", "Mozilla/5.0 (test)", "https://mail.example.com/", "127.0.0.1")
    assert abs(click.clicked_at - datetime.now(UTC)) < timedelta(minutes=1)
    assert click.session_id and f"lt_session={click.session_id}" in response.headers["Set-Cookie"]


def test_head_answers_like_get_but_records_nothing(client, link, stored_clicks):
    """Link previewers and uptime checks send HEAD: same status and Location, no click, no cookie."""
    response = client.head("/track/cv-1?src=newsletter", headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
    assert response.status_code == 302
    assert response.headers["Location"] == "https://jobs.example.com/apply?id=42&ref=cv"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers and response.data == b""
    assert stored_clicks() == []
    missing = client.head("/track/unknown")
    assert (missing.status_code, missing.data) == (404, b"")
    assert client.get("/track/cv-1").status_code == 302 and len(stored_clicks()) == 1


def test_one_address_cannot_record_clicks_without_bound(make_app, operator_headers, stored_clicks):
    """Past TRACK_CLICK_RATE_LIMIT the visitor is still sent on, but no more clicks are stored for that
    address; other addresses still count."""
    client = make_app(TRACK_CLICK_RATE_LIMIT="3/minute").test_client()
    client.post("/api/link-tracking/links", headers=operator_headers,
                json={"original_url": "https://jobs.example.com/apply", "tracking_id": "cv-9"})
    answers = [client.get("/track/cv-9", environ_base={"REMOTE_ADDR": "203.0.113.4"}) for _ in range(5)]
    assert [answer.status_code for answer in answers] == [302] * 5
    assert {answer.headers["Location"] for answer in answers} == {"https://jobs.example.com/apply"}
    assert len(stored_clicks()) == 3
    client.get("/track/cv-9", environ_base={"REMOTE_ADDR": "198.51.100.2"})
    assert len(stored_clicks()) == 4


def test_one_visitor_keeps_one_session(client, link, stored_clicks):
    client.get("/track/cv-1")
    client.get("/track/cv-1")
    first, second = stored_clicks()
    assert first.session_id == second.session_id
    assert (first.click_source, second.click_source) == ("redirect", "redirect")


@pytest.mark.parametrize("path", ["/track/unknown", "/track/%00", "/track/" + "x" * 300])
def test_unknown_ids_are_404_and_record_nothing(client, stored_clicks, path):
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json() == {"success": False, "error": "Not Found",
                                   "message": "Unknown or inactive tracking link"}
    assert "Location" not in response.headers
    assert stored_clicks() == []


def test_browsers_get_a_404_page(client):
    response = client.get("/track/unknown", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 404
    assert response.mimetype == "text/html" and b"Link not found" in response.data


def test_an_inactive_link_no_longer_redirects(client, operator_headers, link, stored_clicks):
    client.delete("/api/link-tracking/links/cv-1", headers=operator_headers)
    assert client.get("/track/cv-1").status_code == 404
    assert stored_clicks() == []


def test_an_auto_registered_id_has_no_destination(client, post_batch, stored_clicks):
    post_batch([{"tracking_id": "from-a-tracker"}])
    assert client.get("/track/from-a-tracker").status_code == 404
    assert len(stored_clicks()) == 1
