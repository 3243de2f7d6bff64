"""link_clicks partitioned by month on PostgreSQL: each click in its month's partition, partitions created
ahead by the scheduler and on demand by the ingest (also when another process dropped one meanwhile)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import requests
from sqlalchemy import text

from modules.core.extensions import db
from modules.core.scheduler import registered_jobs
from modules.link_tracking import jobs, partitions
from tests.support.link_tracking import BATCH_PATH, TRACKING_KEY

pytestmark = pytest.mark.postgres_only


def sql(app, statement, **params):
    with app.app_context():
        result = db.session.execute(text(statement), params)
        rows = result.all() if result.returns_rows else []
        db.session.commit()
        return rows


def partition_of_each_click(app):
    return dict(sql(app, "SELECT event_id, tableoid::regclass::text FROM link_clicks"))


def attached(app):
    return {name for (name,) in sql(app, "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                                         "WHERE i.inhparent = 'link_clicks'::regclass")}


def test_clicks_land_in_their_months_partition(post_batch, app):
    assert post_batch([
        {"tracking_id": "a", "event_id": "oct-last", "clicked_at": "2026-10-31T23:59:59.999999Z"},
        {"tracking_id": "a", "event_id": "nov-first", "clicked_at": "2026-11-01T00:00:00Z"},
        {"tracking_id": "a", "event_id": "nov-first-local", "clicked_at": "2026-11-01T01:30:00+02:00"},
        {"tracking_id": "a", "event_id": "sep", "clicked_at": "2026-09-15T12:00:00Z"},
    ]).status_code == 200
    assert partition_of_each_click(app) == {"oct-last": "link_clicks_y2026m10", "nov-first": "link_clicks_y2026m11",
                                            "nov-first-local": "link_clicks_y2026m10", "sep": "link_clicks_y2026m09"}


def test_a_click_in_a_month_far_in_the_past_gets_its_partition(post_batch, app):
    sql(app, "DROP TABLE IF EXISTS link_clicks_y1987m03")
    assert "link_clicks_y1987m03" not in attached(app)
    assert post_batch([{"tracking_id": "a", "event_id": "old", "clicked_at": "1987-03-31T23:00:00-05:00"},
                       {"tracking_id": "a", "event_id": "year-1", "clicked_at": "0001-01-01T00:00:00Z"}]
                      ).status_code == 200
    assert partition_of_each_click(app) == {"old": "link_clicks_y1987m04", "year-1": "link_clicks_y0001m01"}
    assert post_batch([{"tracking_id": "a", "event_id": "old-2", "clicked_at": "1987-03-02T00:00:00Z"}]
                      ).status_code == 200
    assert partition_of_each_click(app)["old-2"] == "link_clicks_y1987m03"


def test_a_partition_dropped_by_another_process_is_created_again(post_batch, app):
    assert post_batch([{"tracking_id": "a", "event_id": "first", "clicked_at": "1991-06-10T00:00:00Z"}]
                      ).status_code == 200
    # Another process's retention: this process still believes the month's partition exists.
    sql(app, "ALTER TABLE link_clicks DETACH PARTITION link_clicks_y1991m06")
    sql(app, "DROP TABLE link_clicks_y1991m06")
    response = post_batch([{"tracking_id": "a", "event_id": "second", "clicked_at": "1991-06-11T00:00:00Z"}])
    assert response.status_code == 200
    assert partition_of_each_click(app) == {"second": "link_clicks_y1991m06"}


def test_two_batches_meeting_the_same_new_month_both_succeed(live_server, app):
    sql(app, "DROP TABLE IF EXISTS link_clicks_y1993m02")
    with app.app_context():
        partitions.forget_months()

    def post(number):
        events = [{"tracking_id": "a", "event_id": f"c{number}-{n}", "clicked_at": f"1993-02-{1 + n:02d}T00:00:00Z"}
                  for n in range(20)]
        return requests.post(live_server + BATCH_PATH, json={"events": events}, headers={"X-API-Key": TRACKING_KEY},
                             timeout=30).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(post, range(4))) == [200] * 4
    assert set(partition_of_each_click(app).values()) == {"link_clicks_y1993m02"}


def test_the_scheduler_creates_this_month_and_the_next_three(app):
    assert {"link_tracking.create_partitions", "link_tracking.click_retention"} <= {
        job.id for job in registered_jobs(app)}
    with app.app_context():
        names = jobs.create_partitions()
        current = partitions.month_of(datetime.now(UTC))
        assert names == [partitions.partition_name(partitions.add_months(current, n)) for n in range(4)]
        assert partitions.create_months_ahead(datetime(2039, 11, 15, tzinfo=UTC)) == [
            "link_clicks_y2039m11", "link_clicks_y2039m12", "link_clicks_y2040m01", "link_clicks_y2040m02"]
    assert {*names, "link_clicks_y2040m02"} <= attached(app)
    bounds = sql(app, "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'link_clicks_y2039m12'")
    assert bounds == [("FOR VALUES FROM ('2039-12-01 00:00:00+00') TO ('2040-01-01 00:00:00+00')",)]


def test_there_is_no_default_partition(app):
    assert sql(app, "SELECT partdefid FROM pg_partitioned_table WHERE partrelid = 'link_clicks'::regclass") == [(0,)]



def test_a_click_for_a_month_retention_has_detached_is_refused_for_a_retry_not_attached(post_batch, app):
    """Retention detaches a month, exports it, then drops it. A click for that month meanwhile must not attach
    the table again (it would land in rows about to be dropped without their export): the batch is a 503
    the client retries, nothing of it is stored, and after the drop its month gets a new partition."""
    assert post_batch([{"tracking_id": "a", "event_id": "before", "clicked_at": "1993-02-10T00:00:00Z"}]
                      ).status_code == 200
    sql(app, "ALTER TABLE link_clicks DETACH PARTITION link_clicks_y1993m02")
    with app.app_context():
        partitions.forget_months()
    late = [{"tracking_id": "a", "event_id": "late", "clicked_at": "1993-02-11T00:00:00Z"}]
    response = post_batch(late)
    assert response.status_code == 503, response.get_json()
    assert "link_clicks_y1993m02" not in attached(app)
    assert sql(app, "SELECT event_id FROM link_clicks_y1993m02") == [("before",)]
    assert sql(app, "SELECT count(*) FROM link_click_events WHERE event_id = 'late'") == [(0,)]
    sql(app, "DROP TABLE link_clicks_y1993m02")
    assert post_batch(late).status_code == 200
    assert partition_of_each_click(app)["late"] == "link_clicks_y1993m02"
