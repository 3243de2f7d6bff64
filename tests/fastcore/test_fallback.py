"""Database down: 202 and the fallback queue (Redis, else the local file); the flush job writes the leads."""

from __future__ import annotations

import json
import stat
from datetime import timedelta

from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxMessage
from modules.core.queue import PERIODIC_QUEUE, enqueue
from modules.core.redis_client import get_redis
from modules.core.types import utcnow
from modules.fastcore import fallback, jobs
from modules.fastcore.models import Lead
from modules.fastcore.queue_store import RedisStore
from modules.fastcore.services import write_queued_lead
from tests.support.fastcore import ADMIN, SITE, UNREACHABLE_DATABASE, UNREACHABLE_REDIS, lead_body


def post_lead(app, body=None):
    return app.test_client().post("/inbound/leads", json=body or lead_body(), headers=SITE)


def queued_in_redis(app) -> list[dict]:
    with app.app_context():
        return [json.loads(value) for value in get_redis().hvals(RedisStore.LEADS_KEY)]


def file_entries(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def stored(app, lead_id):
    with app.app_context():
        lead = db.session.get(Lead, lead_id)
        if lead is None:
            return None, []
        events = db.session.scalars(select(AuditEntry.event).where(AuditEntry.subject_id == lead_id)
                                    .order_by(AuditEntry.id)).all()
        db.session.expunge(lead)
        return lead, list(events)


def actors(app, lead_id) -> list[tuple[str, str | None]]:
    with app.app_context():
        query = select(AuditEntry.event, AuditEntry.actor).where(AuditEntry.subject_id == lead_id)
        return [tuple(row) for row in db.session.execute(query.order_by(AuditEntry.id))]


def run_flush_job(app, worker):
    """The scheduled job, as the scheduler enqueues it and a worker runs it."""
    with app.app_context():
        assert enqueue(jobs.flush_queue, queue=PERIODIC_QUEUE)
    worker.drain()


def flush_at(app, seconds_from_now):
    with app.app_context():
        return fallback.flush(now=utcnow() + timedelta(seconds=seconds_from_now))


def test_a_lead_is_queued_in_redis_while_the_database_is_down_and_lands_after_the_flush(
        app, worker, database_down_app, fallback_file):
    body = lead_body()
    response = post_lead(database_down_app, body)
    assert response.status_code == 202
    answer = response.get_json()
    assert answer["status"] == "queued" and set(answer) == {"leadId", "timestamp", "status"}
    [entry] = queued_in_redis(app)
    assert entry["lead"]["id"] == answer["leadId"] and entry["retry_count"] == 0
    assert not fallback_file.exists(), "Redis answered: the file is not used"

    run_flush_job(app, worker)
    lead, events = stored(app, answer["leadId"])
    assert (lead.request_id, lead.email, lead.received_via) == (body["meta"]["request_id"], body["email"], "redis")
    assert lead.created_at.isoformat().replace("+00:00", "Z") == answer["timestamp"]
    assert events == ["lead.queued", "lead.flushed", "email.sent", "email.sent"], "the worker sent its e-mails"
    assert queued_in_redis(app) == []
    assert actors(app, lead.id)[:2] == [("lead.queued", "key:FASTCORE_SITE_INGEST_TOKEN"),
                                        ("lead.flushed", "flush-job")], "queued by the site, written by the flush"
    with app.app_context():
        kinds = db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.subject_id == lead.id)).all()
    assert sorted(kinds) == ["fastcore.admin_alert", "fastcore.welcome_email"]


def test_with_redis_down_too_the_lead_goes_to_the_local_file(app, all_down_app, make_app, fastcore_settings,
                                                             fallback_file):
    response = post_lead(all_down_app)
    assert response.status_code == 202
    lead_id = response.get_json()["leadId"]
    [entry] = file_entries(fallback_file)
    assert entry["lead"]["id"] == lead_id
    assert stat.S_IMODE(fallback_file.stat().st_mode) == 0o600, "personal data: readable by the hub only"
    assert queued_in_redis(app) == []

    redis_still_down = make_app(**fastcore_settings, REDIS_URL=UNREACHABLE_REDIS)
    report = redis_still_down.test_client().post("/admin/queue/flush", headers=ADMIN)
    assert report.status_code == 200
    assert report.get_json() == {"status": "flush_triggered", "flushed": 1, "duplicates": 0, "failed": 0,
                                 "dead": 0, "remaining": 0, "already_running": False}
    lead, events = stored(app, lead_id)
    assert lead.received_via == "file" and events == ["lead.queued", "lead.flushed"]
    assert file_entries(fallback_file) == []


def test_a_request_id_already_queued_is_refused_as_a_duplicate(database_down_app, all_down_app):
    for down_app in (database_down_app, all_down_app):
        body = lead_body()
        first = post_lead(down_app, body).get_json()
        again = post_lead(down_app, body)
        assert again.status_code == 400
        assert again.get_json() == {"detail": "Duplicate request (request_id already processed)",
                                    "leadId": first["leadId"]}


def test_a_lead_that_keeps_failing_is_dead_under_retry_count_3_and_is_not_lost(app, database_down_app):
    lead_id = post_lead(database_down_app).get_json()["leadId"]
    assert flush_at(database_down_app, 0).failed == 1
    assert flush_at(database_down_app, 60).failed == 0, "backoff: not due again before 5 minutes"
    assert flush_at(database_down_app, 301).failed == 1
    third = flush_at(database_down_app, 301 + 1801)
    assert (third.failed, third.dead, third.remaining) == (1, 1, 1)
    assert flush_at(database_down_app, 86400).failed == 0, "a dead lead waits for an operator"

    stats = app.test_client().get("/admin/queue/stats", headers=ADMIN).get_json()
    assert stats["queue_size"] == 1
    assert stats["by_retry_count"] == {"0": 0, "1": 0, "2": 0, "3": 1}
    [entry] = queued_in_redis(app)
    assert stats["oldest_form"] == entry["queued_at"]

    client = app.test_client()
    assert client.post("/admin/queue/replay", headers=ADMIN).get_json() == {"status": "success", "replayed": 1}
    assert client.post("/admin/queue/flush", headers=ADMIN).get_json()["flushed"] == 1
    lead, events = stored(app, lead_id)
    assert events == ["lead.queued", "lead.flush_failed", "lead.flush_failed", "lead.flush_failed", "lead.flushed"]
    with app.app_context():
        [replayed] = db.session.scalars(select(AuditEntry).where(AuditEntry.event == "queue.replayed")).all()
    assert (replayed.actor, replayed.details) == ("key:FASTCORE_ADMIN_TOKEN", {"count": 1, "lead_ids": [lead_id]})


def test_the_backoff_between_failed_flushes_is_a_setting(make_app, fastcore_settings):
    down = make_app(**fastcore_settings, DATABASE_URL=UNREACHABLE_DATABASE, FASTCORE_FALLBACK_BACKOFF="10,20")
    post_lead(down)
    assert flush_at(down, 0).failed == 1
    assert flush_at(down, 9).failed == 0, "not due before the first delay"
    assert flush_at(down, 11).failed == 1
    assert flush_at(down, 11 + 19).failed == 0, "not due before the second delay"
    third = flush_at(down, 11 + 21)
    assert (third.failed, third.dead) == (1, 1)


def test_a_queued_request_id_stored_meanwhile_is_dropped_as_a_duplicate(app, database_down_app):
    body = lead_body()
    queued_id = post_lead(database_down_app, body).get_json()["leadId"]
    stored_id = post_lead(app, body).get_json()["leadId"]
    report = flush_at(app, 0)
    assert (report.flushed, report.duplicates, report.remaining) == (0, 1, 0)
    assert stored(app, queued_id) == (None, [])
    assert stored(app, stored_id)[1] == ["lead.received", "lead.duplicate_refused"]


def test_queue_stats_and_clear(app, database_down_app, all_down_app, fallback_file):
    client = app.test_client()
    empty = client.get("/admin/queue/stats", headers=ADMIN).get_json()
    assert set(empty) == {"queue_size", "oldest_form", "by_retry_count", "timestamp", "emails"}
    assert (empty["queue_size"], empty["oldest_form"]) == (0, None)
    queued = [post_lead(database_down_app).get_json()["leadId"], post_lead(all_down_app).get_json()["leadId"]]
    stats = client.get("/admin/queue/stats", headers=ADMIN).get_json()
    assert stats["queue_size"] == 2 and stats["by_retry_count"] == {"0": 2, "1": 0, "2": 0, "3": 0}

    response = client.delete("/admin/queue/clear", headers=ADMIN)
    assert response.status_code == 200
    assert response.get_json() == {"status": "success", "message": "Queue has been cleared"}
    assert client.get("/admin/queue/stats", headers=ADMIN).get_json()["queue_size"] == 0
    assert file_entries(fallback_file) == [] and queued_in_redis(app) == []
    with app.app_context():
        [cleared] = db.session.scalars(select(AuditEntry).where(AuditEntry.event == "queue.cleared")).all()
    assert cleared.details["count"] == 2 and sorted(cleared.details["lead_ids"]) == sorted(queued)


def test_the_cli_shows_flushes_replays_and_clears_the_queue(app, database_down_app, runner):
    post_lead(database_down_app)
    result = runner.invoke(args=["fastcore", "queue", "stats"])
    assert json.loads(result.output)["by_store"] == {"redis": 1, "file": 0}
    assert "cleared 0" not in runner.invoke(args=["fastcore", "queue", "clear"], input="n\n").output
    assert queued_in_redis(app), "clearing asks first"
    result = runner.invoke(args=["fastcore", "queue", "flush"])
    assert result.exit_code == 0 and "flushed 1" in result.output
    assert "replayed 0" in runner.invoke(args=["fastcore", "queue", "replay"]).output
    post_lead(database_down_app)
    assert "cleared 1" in runner.invoke(args=["fastcore", "queue", "clear", "--yes"]).output


def test_a_request_id_waiting_in_the_file_is_a_duplicate_once_redis_is_back(all_down_app, database_down_app):
    body = lead_body()
    first = post_lead(all_down_app, body).get_json()
    again = post_lead(database_down_app, body)
    assert again.status_code == 400 and again.get_json()["leadId"] == first["leadId"]


def test_with_nowhere_to_keep_the_lead_the_answer_is_503_not_a_lie(make_app, fastcore_settings):
    nowhere = make_app(**{**fastcore_settings, "FASTCORE_FALLBACK_FILE": "/proc/no-such-dir/queue.jsonl"},
                       DATABASE_URL=UNREACHABLE_DATABASE, REDIS_URL=UNREACHABLE_REDIS)
    response = post_lead(nowhere)
    assert response.status_code == 503
    assert response.get_json() == {"detail": "Lead storage unavailable, please retry"}


def test_one_flush_at_a_time_and_a_lead_written_before_a_crash_is_not_written_twice(app, database_down_app):
    lead_id = post_lead(database_down_app).get_json()["leadId"]
    client = app.test_client()
    with app.app_context():
        lock = get_redis().lock(fallback.FLUSH_LOCK_KEY, timeout=60)
        assert lock.acquire(blocking=False)
        busy = client.post("/admin/queue/flush", headers=ADMIN).get_json()
        lock.release()
        assert busy["already_running"] is True and busy["flushed"] == 0
        [entry] = queued_in_redis(app)
        assert write_queued_lead(entry, "redis") == "flushed"  # a flush that died before removing the entry
    report = client.post("/admin/queue/flush", headers=ADMIN).get_json()
    assert (report["flushed"], report["duplicates"], report["remaining"]) == (1, 0, 0)
    assert stored(app, lead_id)[1] == ["lead.queued", "lead.flushed"], "written once, audited once"


def test_a_lead_queued_before_entries_kept_their_actor_is_audited_as_the_site(app, database_down_app):
    lead_id = post_lead(database_down_app).get_json()["leadId"]
    [entry] = queued_in_redis(app)
    del entry["actor"]
    with app.app_context():
        assert write_queued_lead(entry, "redis") == "flushed"
    assert actors(app, lead_id) == [("lead.queued", "key:FASTCORE_SITE_INGEST_TOKEN"), ("lead.flushed", "flush-job")]
