"""The store of a batch (one statement in autocommit on PostgreSQL, a few in one transaction on SQLite) and the
redirect's read and click: the same rows, all of a batch or none of it, each event id once."""

from collections import Counter

import pytest
from sqlalchemy import text

from modules.core.extensions import db
from modules.link_tracking import partitions


def sql(app, statement):
    with app.app_context():
        rows = db.session.execute(text(statement)).all()
        db.session.rollback()
        return rows


def test_a_batch_spanning_two_months_is_stored_once_whatever_the_retries(post_batch, stored_clicks,
                                                                       stored_links, rollup_and_raw):
    events = [{"tracking_id": f"span-{n % 3}", "event_id": f"span-{n}", "click_source": "email",
               "clicked_at": "2026-10-31T23:59:59Z" if n % 2 else "2026-11-01T00:00:00Z"} for n in range(10)]
    events.append({"tracking_id": "span-0", "clicked_at": "2026-10-15T08:00:00Z"})  # no event id: always stored
    for _ in range(3):
        response = post_batch(events)
        assert response.status_code == 200 and response.get_json()["results"]["successful"] == 11
    clicks = stored_clicks()
    assert Counter(click.event_id for click in clicks) == {**{f"span-{n}": 1 for n in range(10)}, None: 3}
    assert sorted(stored_links()) == ["span-0", "span-1", "span-2"]
    rollup, raw = rollup_and_raw()
    assert rollup == raw and sum(count for count, _, _ in rollup.values()) == 13
    assert {day.month for _, day, _ in rollup} == {10, 11}


@pytest.mark.postgres_only
def test_a_batch_that_fails_in_the_database_leaves_nothing_not_even_its_links(post_batch, app, stored_links):
    """One statement is one transaction: when its second month cannot be stored (detached by retention), the
    links it registered, its event ids, its clicks of the other month and its rollup are not kept either."""
    assert post_batch([{"tracking_id": "old", "clicked_at": "1994-03-10T00:00:00Z"}]).status_code == 200
    with app.app_context():
        db.session.execute(text("ALTER TABLE link_clicks DETACH PARTITION link_clicks_y1994m03"))
        db.session.commit()
    with app.app_context():
        partitions.forget_months()
    batch = [{"tracking_id": "brand-new", "event_id": "ok", "clicked_at": "2026-11-20T10:00:00Z"},
             {"tracking_id": "old", "event_id": "late", "clicked_at": "1994-03-11T00:00:00Z"}]
    assert post_batch(batch).status_code == 503
    assert sorted(stored_links()) == ["old"]
    assert sql(app, "SELECT count(*) FROM link_click_events") == [(0,)]
    assert sql(app, "SELECT count(*) FROM link_clicks") == [(0,)]
    assert sql(app, "SELECT tracking_id, clicks FROM link_click_daily") == [("old", 1)]


def test_each_redirect_records_exactly_one_click(client, operator_headers, stored_clicks, rollup_and_raw):
    client.post("/api/link-tracking/links", headers=operator_headers,
                json={"original_url": "https://jobs.example.com/apply?id=7", "tracking_id": "one-each"})
    answers = [client.get("/track/one-each?src=mail") for _ in range(12)]
    assert {(answer.status_code, answer.headers["Location"]) for answer in answers} == {
        (302, "https://jobs.example.com/apply?id=7")}
    assert [click.click_source for click in stored_clicks()] == ["mail"] * 12
    rollup, raw = rollup_and_raw()
    assert rollup == raw and [count for count, _, _ in rollup.values()] == [12]
    for path in ("/track/unknown-id", "/track/" + "x" * 101):
        assert client.get(path).status_code == 404
    client.delete("/api/link-tracking/links/one-each", headers=operator_headers)
    assert client.get("/track/one-each").status_code == 404
    assert len(stored_clicks()) == 12
