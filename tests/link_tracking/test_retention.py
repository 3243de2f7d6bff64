"""Click retention: only months wholly past CLICK_RETENTION_MONTHS go, each exported first (exactly its rows),
with their rollup rows and event ids, in bounded batches; off by default."""

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select, text

from modules.core.extensions import db
from modules.link_tracking import jobs, partitions
from modules.link_tracking.models import LinkClick, LinkClickEvent

BATCH_SIZE = 2


def month_start(months_ago):
    year, month = partitions.add_months(partitions.month_of(datetime.now(UTC)), -months_ago)
    return datetime(year, month, 1, tzinfo=UTC)


def iso(moment):
    return moment.isoformat().replace("+00:00", "Z")


def events_by_month():
    """Clicks 4 and 3 months back (past a 2-month window), on the window's first instant, and this month."""
    four, two = month_start(4), month_start(2)
    return {
        "four": [{"tracking_id": "a", "event_id": f"four-{n}", "clicked_at": iso(four + timedelta(days=n)),
                  "metadata": {"n": n, "text": "é"}, "session_id": "s"} for n in range(5)]
                + [{"tracking_id": "b", "clicked_at": iso(four + timedelta(days=9)), "click_source": "email"}],
        "three": [{"tracking_id": "a", "event_id": "three-last", "clicked_at": iso(two - timedelta(microseconds=1))}],
        "kept": [{"tracking_id": "a", "event_id": "two-first", "clicked_at": iso(two)},
                 {"tracking_id": "b", "event_id": "now", "ip_address": "203.0.113.9"}],
    }


@pytest.fixture
def retention_app(make_app, tmp_path):
    return make_app(CLICK_RETENTION_MONTHS=2, CLICK_EXPORT_DIR=str(tmp_path / "exports"),
                    CLICK_RETENTION_BATCH_SIZE=BATCH_SIZE)


@pytest.fixture
def posted(retention_app, key_headers):
    groups = events_by_month()
    client = retention_app.test_client()
    for events in groups.values():
        response = client.post("/api/tracking-ingest/batch", json={"events": events}, headers=key_headers)
        assert response.status_code == 200
    return groups


def all_clicks(app):
    with app.app_context():
        rows = db.session.execute(select(*LinkClick.__table__.columns)).mappings().all()
        db.session.rollback()
        return {row["click_id"]: dict(row) for row in rows}


def deletes_seen(app):
    """The row count of every DELETE the database runs."""
    counts = []
    with app.app_context():
        engine = db.engine

    def after(_conn, cursor, statement, *_args):
        if statement.lstrip().upper().startswith("DELETE"):
            counts.append(cursor.rowcount)

    event.listen(engine, "after_cursor_execute", after)
    return counts


def test_retention_drops_only_months_past_the_window_and_exports_exactly_their_rows(
        retention_app, posted, tmp_path, rollup_and_raw):
    before = all_clicks(retention_app)
    deletes = deletes_seen(retention_app)
    result = retention_app.test_cli_runner().invoke(args=["link-tracking", "retention"])
    assert result.exit_code == 0, result.output
    four, three = (partitions.partition_name(partitions.month_of(month_start(n))) for n in (4, 3))
    assert f"dropped {four}: 6 clicks, exported to" in result.output
    assert f"dropped {three}: 1 clicks, exported to" in result.output
    after = all_clicks(retention_app)
    assert sorted(row["event_id"] or "" for row in after.values()) == ["now", "two-first"]
    dropped = {click_id: row for click_id, row in before.items() if click_id not in after}
    exported = {}
    for path in sorted((tmp_path / "exports").iterdir()):
        assert path.name.endswith(".jsonl.gz") and path.name.startswith((four, three))
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            exported.update({row["click_id"]: row for row in map(json.loads, lines)})
    assert sorted(exported) == sorted(dropped)
    for click_id, row in dropped.items():
        times = {name: iso(row[name]) for name in ("clicked_at", "received_at")}
        assert exported[click_id] == {**row, **times}
    assert deletes and max(deletes) <= BATCH_SIZE
    rollup, raw = rollup_and_raw()
    assert rollup == raw and len(raw) == 2
    with retention_app.app_context():
        assert sorted(db.session.scalars(select(LinkClickEvent.event_id))) == ["now", "two-first"]
        if db.engine.dialect.name == "postgresql":
            kept = partitions.partition_name(partitions.month_of(month_start(2)))
            assert list(db.session.execute(text("SELECT to_regclass(:a)::text, to_regclass(:b)::text, "
                                                "to_regclass(:c)::text"), {"a": four, "b": three, "c": kept}).one()
                        ) == [None, None, kept]


def test_a_retried_event_of_a_kept_month_is_still_deduplicated(retention_app, posted, key_headers):
    assert retention_app.test_cli_runner().invoke(args=["link-tracking", "retention"]).exit_code == 0
    client = retention_app.test_client()
    assert client.post("/api/tracking-ingest/batch", json={"events": posted["kept"]}, headers=key_headers
                       ).status_code == 200
    assert sorted(row["event_id"] for row in all_clicks(retention_app).values()) == ["now", "two-first"]


def test_a_dry_run_changes_nothing(retention_app, posted, tmp_path):
    before = all_clicks(retention_app)
    result = retention_app.test_cli_runner().invoke(args=["link-tracking", "retention", "--dry-run"])
    assert result.exit_code == 0
    for months_ago, clicks in ((4, 6), (3, 1)):
        name = partitions.partition_name(partitions.month_of(month_start(months_ago)))
        assert f"would drop {name}: {clicks} clicks\n" in result.output
    assert all_clicks(retention_app) == before
    assert not (tmp_path / "exports").exists()


def test_retention_is_off_by_default(app, post_batch, rollup_and_raw):
    assert app.config["CLICK_RETENTION_MONTHS"] == 0
    old = [{"tracking_id": "a", "clicked_at": "2001-01-01T00:00:00Z"}]
    assert post_batch(old).status_code == 200
    result = app.test_cli_runner().invoke(args=["link-tracking", "retention"])
    assert "Click retention is off" in result.output
    with app.app_context():
        assert jobs.click_retention() == []
    assert len(all_clicks(app)) == 1


def test_the_periodic_job_applies_the_settings(make_app, retention_app, posted):
    with retention_app.app_context():
        dropped = jobs.click_retention()
    # On PostgreSQL, empty partitions of older months (other tests' history) go too.
    assert dropped[-2:] == [partitions.partition_name(partitions.month_of(month_start(n))) for n in (4, 3)]
    assert len(all_clicks(retention_app)) == 2


def test_without_an_export_directory_the_months_are_dropped_without_a_file(make_app, key_headers, tmp_path):
    app = make_app(CLICK_RETENTION_MONTHS=1, CLICK_RETENTION_BATCH_SIZE=BATCH_SIZE)
    events = [{"tracking_id": "a", "clicked_at": iso(month_start(2) + timedelta(hours=n))} for n in range(3)]
    assert app.test_client().post("/api/tracking-ingest/batch", json={"events": events},
                                  headers=key_headers).status_code == 200
    result = app.test_cli_runner().invoke(args=["link-tracking", "retention"])
    assert "3 clicks\n" in result.output and "exported" not in result.output
    assert all_clicks(app) == {}


def test_an_unwritable_export_directory_drops_nothing_and_clicks_still_land(make_app, key_headers, tmp_path,
                                                                             rollup_and_raw):
    """The export fails (its directory cannot be made): no click is dropped unexported, a late click for that
    month is still stored (on PostgreSQL its partition was left detached), and once the directory works the
    next run exports and drops every row of the month, the late one included."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings = {"CLICK_RETENTION_MONTHS": 1, "CLICK_RETENTION_BATCH_SIZE": BATCH_SIZE}
    app = make_app(CLICK_EXPORT_DIR=str(blocker / "exports"), **settings)
    client = app.test_client()
    old = month_start(3)
    events = [{"tracking_id": "a", "event_id": f"old-{n}", "clicked_at": iso(old + timedelta(hours=n))}
              for n in range(3)]
    assert client.post("/api/tracking-ingest/batch", json={"events": events}, headers=key_headers).status_code == 200
    before = all_clicks(app)
    result = app.test_cli_runner().invoke(args=["link-tracking", "retention"])
    assert result.exit_code != 0
    assert all_clicks(app) == before
    late = [{"tracking_id": "a", "event_id": "late", "clicked_at": iso(old + timedelta(days=1))}]
    response = client.post("/api/tracking-ingest/batch", json={"events": late}, headers=key_headers)
    assert response.status_code == 200, response.get_json()
    assert len(all_clicks(app)) == 4
    rollup, raw = rollup_and_raw()
    assert rollup == raw

    working = make_app(CLICK_EXPORT_DIR=str(tmp_path / "exports"), **settings)
    result = working.test_cli_runner().invoke(args=["link-tracking", "retention"])
    assert result.exit_code == 0, result.output
    exported = set()
    for path in (tmp_path / "exports").iterdir():
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            exported.update(row["event_id"] for row in map(json.loads, lines))
    assert exported >= {"old-0", "old-1", "old-2", "late"}
    assert all_clicks(working) == {}
