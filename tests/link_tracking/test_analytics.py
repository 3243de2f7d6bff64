"""Analytics per link and overall: clicks by day and by source, unique sessions, first and last click."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from modules.link_tracking import storage


def day(days_ago, hour=12):
    moment = datetime.now(UTC).replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def clicks(post_batch):
    assert post_batch([
        {"tracking_id": "cv", "clicked_at": day(0, 1), "click_source": "linkedin", "session_id": "s1"},
        {"tracking_id": "cv", "clicked_at": day(0, 2), "click_source": "linkedin", "session_id": "s1"},
        {"tracking_id": "cv", "clicked_at": day(2), "click_source": "email", "session_id": "s2"},
        {"tracking_id": "cv", "clicked_at": day(40), "click_source": "email", "session_id": "s3"},
        {"tracking_id": "portfolio", "clicked_at": day(1), "session_id": "s9"},
    ]).status_code == 200


def test_a_links_analytics_over_a_window(client, operator_headers, clicks):
    response = client.get("/api/link-tracking/links/cv/analytics?days=3", headers=operator_headers)
    assert response.status_code == 200
    assert response.get_json() == {
        "tracking_id": "cv", "days": 3, "since": day(2, 0), "until": day(-1, 0), "total_clicks": 3,
        "unique_sessions": 2, "first_click": day(2), "last_click": day(0, 2),
        "clicks_by_day": [{"date": day(2)[:10], "clicks": 1}, {"date": day(1)[:10], "clicks": 0},
                          {"date": day(0)[:10], "clicks": 2}],
        "clicks_by_source": [{"source": "linkedin", "clicks": 2}, {"source": "email", "clicks": 1}],
    }


def test_the_default_window_is_30_days(client, operator_headers, clicks):
    body = client.get("/api/link-tracking/links/cv/analytics", headers=operator_headers).get_json()
    assert (body["days"], body["total_clicks"], len(body["clicks_by_day"])) == (30, 3, 30)
    assert client.get("/api/link-tracking/links/cv/analytics?days=60", headers=operator_headers).get_json()[
        "first_click"] == day(40)


def test_overall_analytics_rank_the_links(client, operator_headers, clicks):
    body = client.get("/api/link-tracking/analytics?days=7", headers=operator_headers).get_json()
    assert (body["total_clicks"], body["unique_sessions"]) == (4, 3)
    assert body["top_links"] == [{"tracking_id": "cv", "clicks": 3}, {"tracking_id": "portfolio", "clicks": 1}]
    assert body["clicks_by_source"] == [{"source": "linkedin", "clicks": 2}, {"source": "email", "clicks": 1},
                                        {"source": "external_domain", "clicks": 1}]
    assert "tracking_id" not in body


def test_a_link_without_clicks_has_empty_figures(client, operator_headers, post_batch):
    client.post("/api/link-tracking/links", json={"original_url": "https://example.com", "tracking_id": "quiet"},
                headers=operator_headers)
    body = client.get("/api/link-tracking/links/quiet/analytics?days=1", headers=operator_headers).get_json()
    figures = (body["total_clicks"], body["unique_sessions"], body["first_click"], body["last_click"])
    assert figures == (0, 0, None, None)
    assert body["clicks_by_day"] == [{"date": day(0)[:10], "clicks": 0}] and body["clicks_by_source"] == []


@pytest.mark.parametrize("days", ["0", "-1", "3651", "week", "1.5"])
def test_a_bad_window_is_400(client, operator_headers, days):
    response = client.get(f"/api/link-tracking/analytics?days={days}", headers=operator_headers)
    assert response.status_code == 400
    assert response.get_json()["validation_errors"][0].startswith("days: ")


def test_analytics_of_an_unknown_link_is_404(client, operator_headers):
    assert client.get("/api/link-tracking/links/nope/analytics", headers=operator_headers).status_code == 404


def store_click(app, tracking_id, clicked_at, session_id):
    """A click stored as it was before client clocks were checked (batches kept any future date)."""
    with app.app_context():
        storage.store_rows([{"click_id": str(uuid.uuid4()), "tracking_id": tracking_id, "clicked_at": clicked_at,
                             "received_at": datetime.now(UTC), "ip_address": None, "user_agent": None,
                             "referrer_url": None, "session_id": session_id, "click_source": "email",
                             "metadata": None, "event_id": None}], datetime.now(UTC))


@pytest.mark.parametrize("path", ["/api/link-tracking/links/cv/analytics?days=3",
                                  "/api/link-tracking/analytics?days=3"])
def test_totals_are_the_sum_of_the_per_day_series(app, client, operator_headers, clicks, path):
    """Clicks dated after today (an older batch's client clock) or before the window count nowhere."""
    store_click(app, "cv", datetime.now(UTC) + timedelta(days=3), "s-future")
    store_click(app, "cv", datetime.now(UTC) + timedelta(days=400), "s-far-future")
    store_click(app, "cv", datetime(1900, 1, 1, tzinfo=UTC), "s-past")
    body = client.get(path, headers=operator_headers).get_json()
    assert body["total_clicks"] == sum(entry["clicks"] for entry in body["clicks_by_day"])
    assert body["total_clicks"] == sum(entry["clicks"] for entry in body["clicks_by_source"])
    assert body["since"] <= body["first_click"] <= body["last_click"] < body["until"]
    assert body["unique_sessions"] == (2 if "links/cv" in path else 3)
    if "top_links" in body:
        assert sum(entry["clicks"] for entry in body["top_links"]) == body["total_clicks"]


def test_a_clock_far_ahead_counts_today_and_the_far_past_breaks_nothing(client, operator_headers, post_batch):
    ahead = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert post_batch([{"tracking_id": "cv", "clicked_at": ahead}, {"tracking_id": "cv", "clicked_at": "0001-01-01"},
                       {"tracking_id": "cv", "clicked_at": "1900-01-01T00:00:00Z"}]).status_code == 200
    body = client.get("/api/link-tracking/links/cv/analytics?days=3650", headers=operator_headers).get_json()
    assert body["total_clicks"] == 1 and body["clicks_by_day"][-1] == {"date": day(0)[:10], "clicks": 1}
