"""The daily rollup (link_click_daily) equals a count over the raw clicks, whatever path stored them, and the
event-id dedupe (link_click_events) holds across retries whatever their clicked_at."""

import json
from datetime import UTC, datetime, timedelta

RETRIED = [
    {"tracking_id": "cv", "event_id": "e-1", "clicked_at": "2026-10-05T10:00:00Z", "click_source": "linkedin"},
    {"tracking_id": "cv", "event_id": "e-2", "session_id": "s1"},  # clicked_at: the time received
    {"tracking_id": "cv", "event_id": "e-3", "clicked_at": "2026-11-29T23:59:59.999999Z", "click_source": "email"},
    {"tracking_id": "folio", "clicked_at": "2026-11-29T08:00:00+02:00"},  # no event id: stored every time
]


def test_a_retry_is_stored_once_whatever_its_clicked_at(post_batch, stored_clicks):
    assert post_batch(RETRIED).status_code == 200
    retry = [{**event, "clicked_at": "2026-11-01T00:00:00Z"} for event in RETRIED[:3]]
    retry_without_clock = [{key: value for key, value in event.items() if key != "clicked_at"} for event in RETRIED[:3]]
    for batch in (RETRIED[:3], retry, retry_without_clock):
        response = post_batch(batch)
        assert response.status_code == 200
        assert response.get_json()["results"] == {"total_events": 3, "successful": 3, "failed": 0, "errors": []}
    clicks = stored_clicks()
    assert sorted(click.event_id for click in clicks if click.event_id) == ["e-1", "e-2", "e-3"]
    assert {click.event_id: click.clicked_at for click in clicks}["e-1"] == datetime(2026, 10, 5, 10, tzinfo=UTC)


def test_the_first_event_of_an_id_in_a_batch_wins(post_batch, stored_clicks):
    response = post_batch([{"tracking_id": "a", "event_id": "same", "click_source": "first"},
                           {"tracking_id": "b", "event_id": "same", "click_source": "second",
                            "clicked_at": "2026-01-01T00:00:00Z"},
                           {"tracking_id": "a", "event_id": "other"}])
    assert response.status_code == 200
    assert [(click.tracking_id, click.click_source) for click in stored_clicks() if click.event_id == "same"] == [
        ("a", "first")]


def test_the_rollup_equals_the_raw_clicks_after_batches_redirects_and_imports(
        client, operator_headers, post_batch, runner, tmp_path, rollup_and_raw):
    assert post_batch(RETRIED + RETRIED[:2]).status_code == 200  # duplicates inside the batch
    assert post_batch(RETRIED).status_code == 200  # a retry: only the click without event id is new
    client.post("/api/link-tracking/links", headers=operator_headers,
                json={"original_url": "https://example.com/cv", "tracking_id": "cv-page"})
    for source in ("newsletter", "newsletter", None):
        assert client.get("/track/cv-page" + (f"?src={source}" if source else "")).status_code == 302
    lines = [{"tracking_id": "cv", "event_id": "e-1"}, {"tracking_id": "cv", "event_id": "imp-1",
                                                       "clicked_at": "2025-03-01T00:00:00Z"},
             {"tracking_id": "cv-page", "click_source": "newsletter"}]
    source_file = tmp_path / "clicks.jsonl"
    source_file.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert runner.invoke(args=["link-tracking", "import", str(source_file)]).exit_code == 0
    rollup, raw = rollup_and_raw()
    assert rollup == raw
    assert sum(count for count, _, _ in raw.values()) == 4 + 1 + 3 + 2


def test_analytics_from_the_rollup_equal_the_raw_counts(client, operator_headers, post_batch, rollup_and_raw):
    now = datetime.now(UTC)
    events = [{"tracking_id": f"link-{n % 3}", "click_source": ("a", "b")[n % 2], "session_id": f"s{n % 4}",
               "clicked_at": (now - timedelta(days=n % 5, minutes=n)).isoformat()} for n in range(40)]
    assert post_batch(events).status_code == 200
    _, raw = rollup_and_raw()
    body = client.get("/api/link-tracking/analytics?days=5", headers=operator_headers).get_json()
    assert body["total_clicks"] == sum(count for count, _, _ in raw.values()) == 40
    per_day = {}
    for (_, day, _), (count, _, _) in raw.items():
        per_day[day.isoformat()] = per_day.get(day.isoformat(), 0) + count
    assert {entry["date"]: entry["clicks"] for entry in body["clicks_by_day"] if entry["clicks"]} == per_day
    assert body["unique_sessions"] == 4
    assert body["first_click"] == min(first for _, first, _ in raw.values()).isoformat().replace("+00:00", "Z")
    link = client.get("/api/link-tracking/links/link-0/analytics?days=5", headers=operator_headers).get_json()
    assert link["total_clicks"] == sum(count for (tracking_id, _, _), (count, _, _) in raw.items()
                                       if tracking_id == "link-0")
