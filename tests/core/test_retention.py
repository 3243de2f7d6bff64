"""Retention of the audit log, and the core's bounded batched delete every retention job uses: only what is
past the window goes, in batches of RETENTION_BATCH, each its own transaction, with one audit entry a run."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxAttempt, OutboxMessage
from modules.core.retention import delete_older_than, purge_audit_log
from modules.core.scheduler import registered_jobs
from tests.support.sql import statements, writes

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=365)
SECOND = timedelta(seconds=1)


def put(app, count, written_at, event="lead.received"):
    """`count` audit entries written at `written_at`; returns their ids."""
    with app.app_context():
        ids = [db.session.execute(insert(AuditEntry).values(
            domain="fastcore", event=event, actor="key:FASTCORE_API_KEY", subject_id=f"lead-{n}", details={},
            created_at=written_at)).inserted_primary_key[0] for n in range(count)]
        db.session.commit()
    return set(ids)


def entries(app):
    with app.app_context():
        return {row.id: row for row in db.session.scalars(select(AuditEntry))}


def test_audit_entries_past_the_window_go_in_batches_and_one_entry_says_so(make_app):
    app = make_app(AUDIT_RETENTION_DAYS=365, RETENTION_BATCH=3)
    old = put(app, 10, NOW - WINDOW - SECOND)
    kept = put(app, 2, NOW - WINDOW + SECOND) | put(app, 1, NOW - WINDOW) | put(app, 1, NOW)
    with app.app_context(), statements(app) as seen:
        assert purge_audit_log(now=NOW) == 10
    assert writes(seen) == ["DELETE FROM audit_log", "COMMIT"] * 4 + ["INSERT INTO audit_log", "COMMIT"], \
        "batches of 3, 3, 3 and 1, each its own transaction, then one summary"
    left = entries(app)
    assert not old & set(left) and kept <= set(left)
    [summary] = [entry for entry in left.values() if entry.event == "audit.purged"]
    assert (summary.domain, summary.actor, summary.details) == (
        "core", "retention", {"table": "audit_log", "count": 10, "cutoff": (NOW - WINDOW).isoformat()})
    assert set(left) == kept | {summary.id}, "nothing else was touched"


def test_a_run_is_bounded_and_the_next_takes_the_rest_each_with_its_own_summary(make_app):
    app = make_app(RETENTION_BATCH=4)
    put(app, 10, NOW - 2 * WINDOW)
    with app.app_context():
        assert purge_audit_log(now=NOW, max_batches=2) == 8
        assert purge_audit_log(now=NOW, max_batches=2) == 2
        assert purge_audit_log(now=NOW, max_batches=2) == 0
    counts = [entry.details["count"] for entry in entries(app).values() if entry.event == "audit.purged"]
    assert counts == [8, 2], "one summary a run that deleted something, none for a run with nothing to do"


def test_zero_keeps_the_audit_log_forever(make_app):
    app = make_app(AUDIT_RETENTION_DAYS=0)
    ids = put(app, 3, NOW - 10 * WINDOW)
    with app.app_context(), statements(app) as seen:
        assert purge_audit_log(now=NOW) == 0
    assert set(entries(app)) == ids and not writes(seen)


def test_rows_referencing_a_batch_go_with_it_and_a_batch_of_one_row_is_enough(make_app):
    """The helper on the outbox's tables: `children` (attempts) go first, in their batch's transaction."""
    app = make_app()
    with app.app_context():
        for n, age in enumerate((3, 2, 0)):
            db.session.add(OutboxMessage(id=f"m{n}", kind="k", status="delivered", next_attempt_at=NOW - age * WINDOW))
            db.session.flush()
            db.session.add(OutboxAttempt(outbox_id=f"m{n}", number=1, started_at=NOW, finished_at=NOW, outcome="x"))
        db.session.commit()
        with statements(app) as seen:
            assert delete_older_than(OutboxMessage, OutboxMessage.next_attempt_at, NOW - WINDOW, 1,
                                     children=[OutboxAttempt.outbox_id]) == 2
        assert writes(seen) == ["DELETE FROM outbox_attempt", "DELETE FROM outbox", "COMMIT"] * 2 + ["COMMIT"]
        assert set(db.session.scalars(select(OutboxAttempt.outbox_id))) == {"m2"}
        assert set(db.session.scalars(select(OutboxMessage.id))) == {"m2"}
        with pytest.raises(ValueError, match="at least 1"):
            delete_older_than(OutboxMessage, OutboxMessage.next_attempt_at, NOW, 0)


def test_retention_jobs_are_periodic(app):
    with app.app_context():
        ids = {job.id: job.every_seconds for job in registered_jobs()}
    assert {"audit.retention", "insight.sms_retention", "insight.sms_usage_retention", "outbox.retention"} <= set(ids)
