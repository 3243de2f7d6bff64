"""What Insight keeps for a while only: SMS past INSIGHT_SMS_RETENTION_DAYS (but never one still queued) and
daily SMS usage past INSIGHT_SMS_USAGE_RETENTION_DAYS go, in batches of RETENTION_BATCH with one audit entry a
run; customers, their actions and everything inside the window stay."""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, insert, select

from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.insight import jobs
from modules.insight.models import Customer, CustomerAction, SmsMessage, SmsUsage
from modules.insight.services.retention import purge_sms, purge_sms_usage
from tests.support.sql import statements, writes

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def put_sms(app, count, queued_at, status="delivered", customer_id=None):
    """`count` SMS queued at `queued_at` with `status`; returns their ids."""
    rows = [{"id": f"sms-{status}-{queued_at.timestamp():.0f}-{n}", "customer_id": customer_id, "kind": "custom",
             "recipients": ["233241234567"], "message": "Your bill is due", "status": status, "provider_ids": {},
             "receipts": {}, "performed_by": "Ama Operator", "created_at": queued_at} for n in range(count)]
    with app.app_context():
        db.session.execute(insert(SmsMessage), rows)
        db.session.commit()
    return {row["id"] for row in rows}


def put_usage(app, days, scopes=("hub", "operator:1")):
    with app.app_context():
        db.session.execute(insert(SmsUsage), [{"day": day, "scope": scope, "segments": 3}
                                              for day in days for scope in scopes])
        db.session.commit()


def summaries(app, event):
    with app.app_context():
        return [(e.domain, e.actor, e.details) for e in db.session.scalars(select(AuditEntry)
                                                                             .where(AuditEntry.event == event))]


def test_sms_past_the_window_go_in_batches_and_queued_ones_customers_and_actions_stay(make_app, client,
                                                                                       operator_headers):
    app = make_app(INSIGHT_SMS_RETENTION_DAYS=30, RETENTION_BATCH=2)
    with app.app_context():
        db.session.add(Customer(id="c1", name="Ama", account_number="A1", phone="233241234567", created_at=NOW))
        db.session.add(CustomerAction(id="a1", customer_id="c1", action="sms_sent", performed_by="Ama Operator",
                                      source="sms", created_at=NOW - 90 * DAY))
        db.session.commit()
    cutoff = NOW - 30 * DAY
    old = (put_sms(app, 2, cutoff - SECOND, customer_id="c1") | put_sms(app, 2, cutoff - 60 * DAY, "failed")
           | put_sms(app, 1, cutoff - DAY, "sent"))
    kept = (put_sms(app, 2, cutoff + SECOND, customer_id="c1") | put_sms(app, 1, cutoff)
            | put_sms(app, 1, cutoff - 60 * DAY, "queued"))
    with app.app_context(), statements(app) as seen:
        assert purge_sms(now=NOW) == 5
    assert writes(seen) == ["DELETE FROM insight_sms", "COMMIT"] * 3 + ["INSERT INTO audit_log", "COMMIT"], \
        "batches of 2, 2 and 1, each its own transaction, then one summary"
    with app.app_context():
        assert set(db.session.scalars(select(SmsMessage.id))) == kept
        assert db.session.get(Customer, "c1") is not None and db.session.get(CustomerAction, "a1") is not None
    assert summaries(app, "sms.purged") == [
        ("insight", "retention", {"table": "insight_sms", "count": 5, "cutoff": cutoff.isoformat()})]
    assert not old & kept


def test_daily_usage_past_the_window_goes_in_batches_across_its_two_column_key(make_app):
    app = make_app(INSIGHT_SMS_USAGE_RETENTION_DAYS=31, RETENTION_BATCH=3)
    today = NOW.date()
    gone = [today - timedelta(days=n) for n in (32, 33, 400)]
    stay = [today - timedelta(days=n) for n in (0, 1, 31)]
    put_usage(app, gone + stay)
    with app.app_context(), statements(app) as seen:
        assert purge_sms_usage(now=NOW) == 6
        days = set(db.session.execute(select(SmsUsage.day, SmsUsage.scope)).all())
    assert writes(seen) == ["DELETE FROM insight_sms_usage", "COMMIT"] * 2 + ["COMMIT"] + [
        "INSERT INTO audit_log", "COMMIT"], "6 rows in 2 batches of 3, then an empty look that ends the run"
    assert days == {(day, scope) for day in stay for scope in ("hub", "operator:1")}
    assert summaries(app, "sms_usage.purged") == [("insight", "retention", {
        "table": "insight_sms_usage", "count": 6, "cutoff": (today - timedelta(days=31)).isoformat()})]


def test_zero_keeps_sms_and_usage_forever(make_app):
    app = make_app(INSIGHT_SMS_RETENTION_DAYS=0, INSIGHT_SMS_USAGE_RETENTION_DAYS=0)
    ids = put_sms(app, 2, NOW - 3000 * DAY)
    put_usage(app, [date(2020, 1, 1)])
    with app.app_context(), statements(app) as seen:
        assert purge_sms(now=NOW) == purge_sms_usage(now=NOW) == 0
        assert set(db.session.scalars(select(SmsMessage.id))) == ids
        assert db.session.scalar(select(func.count()).select_from(SmsUsage)) == 2
    assert not writes(seen)


def test_the_periodic_jobs_use_the_default_windows(app):
    """The jobs as the worker runs them: a year for SMS, a month for usage, counted from now."""
    now = datetime.now(UTC)
    old = put_sms(app, 1, now - 366 * DAY)
    young = put_sms(app, 1, now - 364 * DAY)
    put_usage(app, [now.date() - timedelta(days=32), now.date()], scopes=("hub",))
    with app.app_context():
        assert (jobs.purge_sms(), jobs.purge_sms_usage()) == (1, 1)
        assert set(db.session.scalars(select(SmsMessage.id))) == young and not old & young
        assert list(db.session.scalars(select(SmsUsage.day))) == [now.date()]
