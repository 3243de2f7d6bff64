"""The audit log only grows; exactly one scheduler enqueues the periodic jobs on time."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from modules.core import audit, scheduler
from modules.core.audit import AuditLogIsAppendOnly
from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.core.queue import PERIODIC_QUEUE, get_queue
from modules.core.redis_client import get_redis


def test_audit_entries_join_the_transaction_and_are_never_changed(app):
    with app.app_context():
        audit.record("core", "tested", actor="pytest", subject_id="s-1", status_code=200, details={"n": 1})
        db.session.rollback()
        assert db.session.scalar(select(AuditEntry)) is None, "rolled back with its transaction"
        audit.record("core", "tested", actor="pytest", subject_id="s-1", status_code=200, details={"n": 1})
        db.session.commit()
        entry = db.session.scalar(select(AuditEntry))
        assert (entry.event, entry.subject_id, entry.details) == ("tested", "s-1", {"n": 1})
        entry.details = {"n": 2}
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.scalar(select(AuditEntry)))
        with pytest.raises(AuditLogIsAppendOnly):
            db.session.commit()


def test_the_scheduler_enqueues_due_jobs_once_per_interval(app):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    active = scheduler.Scheduler(app)
    assert active._hold_lock()
    assert "outbox.sweep" in active.run_due(now)
    with app.app_context():
        assert any(job.func_name == "modules.core.outbox.sweeping.sweep" for job in get_queue(PERIODIC_QUEUE).jobs)
    assert "outbox.sweep" not in active.run_due(now + timedelta(seconds=30)), "not due again yet"
    assert "outbox.sweep" in active.run_due(now + timedelta(seconds=61))
    with app.app_context():
        state = scheduler.status(get_redis())
    assert state["running"] is True
    sweep = next(job for job in state["jobs"] if job["id"] == "outbox.sweep")
    assert sweep["every_seconds"] == 60
    assert sweep["next_run_time"].startswith("2026-01-01T00:02:01")


def test_a_second_scheduler_stands_by_while_the_first_holds_the_lock(app):
    first, second = scheduler.Scheduler(app), scheduler.Scheduler(app)
    assert first._hold_lock() is True
    assert second._hold_lock() is False
    first.lock.release()
    assert second._hold_lock() is True


def test_the_periodic_sweep_runs_on_a_worker(app, worker):
    active = scheduler.Scheduler(app)
    active.run_due(datetime.now(UTC))
    worker.drain()
    with app.app_context():
        assert get_queue(PERIODIC_QUEUE).count == 0
