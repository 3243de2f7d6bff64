"""Delivery control against a real HTTP peer, real Redis and a real worker: a pause that holds, the circuit
breaker, Retry-After, jitter, and each kind's backoff as a setting."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from modules.core import outbox
from modules.core.config import ConfigurationError, load_config
from modules.core.extensions import db
from modules.core.models import OutboxAttempt, OutboxMessage
from modules.core.outbox import control, delivery, policy
from modules.core.types import utcnow
from tests.support.handlers import KIND
from tests.support.worker import Drainer

DESTINATION = KIND  # the test kind names no destination: it is its own


def add(app, url, n):
    with app.app_context():
        message_id = outbox.add(KIND, {"url": url, "body": {"n": n}})
        db.session.commit()
        return message_id


def rows(app):
    with app.app_context():
        found = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.created_at)).all()
        db.session.expunge_all()
        return found


def attempt_outcomes(app, message_id):
    with app.app_context():
        return list(db.session.scalars(select(OutboxAttempt.outcome).where(OutboxAttempt.outbox_id == message_id)
                                       .order_by(OutboxAttempt.number)))


def bodies(httpserver):
    return [request.get_json()["n"] for request, _ in httpserver.log]


class Clock:
    """The delivery engine's clock, moved forward by the test instead of sleeping."""

    def __init__(self):
        self.offset = timedelta(0)

    def now(self):
        return utcnow() + self.offset

    def advance(self, seconds):
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    moved = Clock()
    monkeypatch.setattr(delivery, "utcnow", moved.now)
    return moved


def wait_after_last_attempt(app, message):
    """Seconds from the end of the message's last attempt to its next one."""
    with app.app_context():
        finished = db.session.scalar(select(OutboxAttempt.finished_at).where(OutboxAttempt.outbox_id == message.id)
                                     .order_by(OutboxAttempt.number.desc()).limit(1))
    return (message.next_attempt_at - finished).total_seconds()


def state(app):
    with app.app_context():
        return control.state(DESTINATION)


def test_a_paused_destination_holds_every_message_and_resume_delivers_them_oldest_first(app, worker, httpserver):
    httpserver.expect_request("/hook").respond_with_json({})
    with app.app_context():
        paused = control.pause(DESTINATION, "peer maintenance tonight", actor="operator:test")
    assert (paused["state"], paused["reason"], paused["paused_by"]) == ("paused", "peer maintenance tonight",
                                                                       "operator:test")
    for n in range(50):
        add(app, httpserver.url_for("/hook"), n)
    worker.drain()
    with app.app_context():
        assert outbox.sweep(now=utcnow() + timedelta(minutes=5)) == 0, "the sweeper leaves a paused destination alone"
    worker.drain()
    assert httpserver.log == []
    assert {(row.status, row.attempts) for row in rows(app)} == {("pending", 0)}, "no attempt used while paused"
    assert state(app)["pending"] == 50

    with app.app_context():
        assert control.resume(DESTINATION, actor="operator:test")["state"] == "active"
    worker.drain()
    assert bodies(httpserver) == list(range(50)), "all 50, oldest first"
    assert {(row.status, row.attempts) for row in rows(app)} == {("delivered", 1)}


def test_pause_and_resume_are_audited_and_an_unknown_destination_is_not_found(app):
    from modules.core.exceptions import NotFound
    from modules.core.models import AuditEntry

    with app.app_context():
        control.pause(DESTINATION, None, actor="cli")
        control.resume(DESTINATION, actor="cli")
        events = db.session.scalars(select(AuditEntry.event).where(AuditEntry.subject_id == DESTINATION)
                                    .order_by(AuditEntry.id)).all()
        assert events == ["outbox.destination_paused", "outbox.destination_resumed"]
        with pytest.raises(NotFound):
            control.pause("no-such-place", None, actor="cli")


def test_ten_failures_open_the_breaker_then_one_probe_and_the_backlog_flows(make_app, httpserver, clock):
    app = make_app()
    worker = Drainer(app)
    failing = httpserver.expect_request("/hook")
    failing.respond_with_data("down", status=503)
    failed = [add(app, httpserver.url_for("/hook"), n) for n in range(10)]
    worker.drain()
    assert len(httpserver.log) == 10
    opened = state(app)
    assert (opened["state"], opened["failures"]) == ("open", 10)
    assert opened["last_error"].startswith("HTTP 503") and "10 consecutive failures" in opened["reason"]

    waiting = [add(app, httpserver.url_for("/hook"), n) for n in range(10, 15)]
    restarted = make_app()  # a new worker process: the state is in the database
    # 40 s into the 60 s cool-down, counted from when the breaker opened, however long the drains took
    clock.offset = opened["retry_at"] - utcnow() - timedelta(seconds=20)
    with restarted.app_context():
        assert outbox.sweep(now=clock.now()) == 0
    Drainer(restarted).drain()
    assert len(httpserver.log) == 10, "nothing goes while the breaker is open"
    assert {row.attempts for row in rows(app) if row.id in waiting} == {0}, "held messages use no attempt"

    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_json({})
    clock.advance(21)  # past the 60 s cool-down
    with app.app_context():
        assert state(app)["state"] == "open"
        assert outbox.sweep(now=clock.now()) == 1, "a probe is due: the sweeper queues a drain"
    Drainer(restarted).drain()
    delivered = bodies(httpserver)
    assert delivered[:5] == [10, 11, 12, 13, 14], "the probe (the oldest due message), then the backlog in order"
    assert sorted(delivered[5:]) == list(range(10)), "and the ten that failed, due again by now"
    assert (state(app)["state"], state(app)["failures"]) == ("active", 0)
    assert {row.status for row in rows(app)} == {"delivered"}
    assert attempt_outcomes(app, failed[0]) == ["retry", "delivered"]
    assert {row.attempts for row in rows(app) if row.id in waiting} == {1}


def test_a_failed_probe_keeps_its_attempts_and_waits_another_cool_down(make_app, httpserver, clock):
    app = make_app(OUTBOX_BREAKER_THRESHOLD=2)
    worker = Drainer(app)
    httpserver.expect_request("/hook").respond_with_data("down", status=502)
    for n in range(2):
        add(app, httpserver.url_for("/hook"), n)
    worker.drain()
    assert state(app)["state"] == "open"
    probe = add(app, httpserver.url_for("/hook"), 2)
    clock.advance(61)
    with app.app_context():
        outbox.sweep(now=clock.now())
    worker.drain()
    assert len(httpserver.log) == 3, "exactly one probe"
    assert attempt_outcomes(app, probe) == ["probe_failed"]
    probed = next(row for row in rows(app) if row.id == probe)
    assert (probed.status, probed.attempts) == ("pending", 0)
    reopened = state(app)
    assert reopened["state"] == "open" and reopened["retry_at"] > clock.now() + timedelta(seconds=55)


def test_an_answer_that_is_not_a_retryable_failure_restarts_the_count(make_app, httpserver):
    app = make_app(OUTBOX_BREAKER_THRESHOLD=3)
    worker = Drainer(app)
    for status in (503, 503, 400, 503, 503):
        httpserver.expect_oneshot_request("/hook").respond_with_data("answer", status=status)
        add(app, httpserver.url_for("/hook"), status)
        worker.drain()
    assert (state(app)["state"], state(app)["failures"]) == ("active", 2)


def test_a_429_with_retry_after_is_not_retried_before_it(app, worker, httpserver, clock):
    httpserver.expect_oneshot_request("/hook").respond_with_data("slow down", status=429,
                                                                   headers={"Retry-After": "120"})
    httpserver.expect_request("/hook").respond_with_json({})
    message_id = add(app, httpserver.url_for("/hook"), 1)
    worker.drain()
    (message,) = rows(app)
    assert (message.status, message.attempts, message.last_status_code) == ("pending", 1, 429)
    assert 119.5 <= wait_after_last_attempt(app, message) <= 120.01, "the larger of 10 s +-20% and 120 s"

    for before_due, delivered in ((timedelta(seconds=5), 1), (timedelta(seconds=-1), 2)):
        clock.offset = message.next_attempt_at - utcnow() - before_due  # 115 s after the 429, then 121 s
        with app.app_context():
            delivery.queue_drain()
        worker.drain()
        assert len(httpserver.log) == delivered, f"{clock.offset} after the 429"
    assert attempt_outcomes(app, message_id) == ["retry", "delivered"]


def test_retry_after_as_a_date_and_beyond_the_cap(make_app, httpserver):
    app = make_app(OUTBOX_RETRY_AFTER_MAX_SECONDS=600)
    worker = Drainer(app)
    httpserver.expect_ordered_request("/hook").respond_with_data(
        "busy", status=503, headers={"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"})
    add(app, httpserver.url_for("/hook"), 1)
    worker.drain()
    (message,) = rows(app)
    assert 599.5 <= wait_after_last_attempt(app, message) <= 600.01, "capped"


@pytest.mark.parametrize("status", [410, 404])
def test_a_gone_peer_is_final_at_once(app, worker, httpserver, status):
    httpserver.expect_request("/hook").respond_with_data("gone", status=status)
    message_id = add(app, httpserver.url_for("/hook"), 1)
    worker.drain()
    assert attempt_outcomes(app, message_id) == ["dead"]


def test_jitter_keeps_every_delay_within_20_percent_of_its_schedule(app):
    with app.app_context():
        delays = [policy.retry_delay(300) for _ in range(2000)]
        assert all(240 <= delay <= 360 for delay in delays)
        assert min(delays) < 250 and max(delays) > 350, "spread over the whole band"
        assert policy.retry_delay(10, retry_after=30) == 30


def test_jittered_retries_are_scheduled_within_the_band(make_app, httpserver):
    app = make_app(OUTBOX_BREAKER_THRESHOLD=100)
    worker = Drainer(app)
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    for n in range(20):
        add(app, httpserver.url_for("/hook"), n)
    worker.drain()
    waits = [wait_after_last_attempt(app, row) for row in rows(app)]
    assert all(7.5 <= wait <= 12 for wait in waits), waits
    assert len({round(wait, 2) for wait in waits}) > 10, "spread, not one delay for all"


def test_a_kinds_backoff_is_a_setting(make_app, httpserver):
    app = make_app(OUTBOX_BACKOFF_TEST_WEBHOOK="5")
    worker = Drainer(app)
    httpserver.expect_request("/hook").respond_with_data("down", status=500)
    message_id = add(app, httpserver.url_for("/hook"), 1)
    worker.drain()
    (message,) = rows(app)
    assert 3.5 <= wait_after_last_attempt(app, message) <= 6
    with app.app_context():
        assert outbox.sweep(now=utcnow() + timedelta(seconds=60)) == 1
        described = {kind["kind"]: kind for kind in policy.kinds()}[KIND]
    worker.drain()
    assert attempt_outcomes(app, message_id) == ["retry", "dead"], "one retry, then dead: two attempts"
    assert described == {"kind": KIND, "destination": KIND, "backoff": [5], "attempts": 2,
                         "backoff_setting": "OUTBOX_BACKOFF_TEST_WEBHOOK", "backoff_from": "setting",
                         "breaker_threshold": 10, "breaker_cooldown_seconds": 60}


@pytest.mark.parametrize("value", ["ten", "10,,60", "0", "-5", "1.5", "99999999"])
def test_a_malformed_backoff_setting_stops_start_up_naming_it(value):
    with pytest.raises(ConfigurationError, match="OUTBOX_BACKOFF_SENTRATECH_DASHBOARD_SYNC"):
        load_config(environ={"OUTBOX_BACKOFF_SENTRATECH_DASHBOARD_SYNC": value})


@pytest.mark.parametrize("blank", ["", "  ", "\t"])
def test_a_blank_backoff_setting_is_unset(blank):
    assert "OUTBOX_BACKOFF_INSIGHT_SMS" not in load_config(environ={"OUTBOX_BACKOFF_INSIGHT_SMS": blank})


def test_every_domain_kind_names_its_destination(app):
    with app.app_context():
        destinations = {kind["kind"]: kind["destination"] for kind in policy.kinds()}
    assert destinations == {"core.alert_email": "smtp", "dtech.recording_put": "dtech.uploads",
                            "fastcore.admin_alert": "smtp", "fastcore.welcome_email": "smtp", "insight.sms": "arkesel",
                            "sentratech.dashboard_sync": "dashboard", KIND: KIND}


def test_a_backoff_setting_for_no_kind_is_named(make_app):
    app = make_app(OUTBOX_BACKOFF_SENTRATECH_DASHBORD_SYNC="10,60", OUTBOX_BACKOFF_INSIGHT_SMS="30")
    with app.app_context():
        assert policy.unknown_backoff_settings() == ["OUTBOX_BACKOFF_SENTRATECH_DASHBORD_SYNC"]
        assert policy.backoff_for("insight.sms") == (30,)


@pytest.mark.parametrize(("status", "header", "expected"), [
    (429, "120", 120.0), (503, "0", 0.0), (503, "Thu, 01 Jan 1970 00:00:00 GMT", 0.0), (429, "soon", None),
    (429, "-5", None), (429, "", None), (500, "120", None), (408, "120", None),
])
def test_retry_after_is_read_only_from_429_and_503(status, header, expected):
    import requests

    from modules.core import http

    response = requests.Response()
    response.status_code = status
    if header:
        response.headers["Retry-After"] = header
    assert http.retry_after(response) == expected


def test_a_second_pause_keeps_the_first_ones_time_and_author(app):
    with app.app_context():
        first = control.pause(DESTINATION, "peer maintenance", actor="operator:a")
        again = control.pause(DESTINATION, None, actor="operator:b")
        assert (again["since"], again["paused_by"], again["reason"]) == (first["since"], "operator:a",
                                                                         "peer maintenance")
        reasoned = control.pause(DESTINATION, "maintenance runs late", actor="operator:b")
        assert (reasoned["since"], reasoned["paused_by"], reasoned["reason"]) == (first["since"], "operator:a",
                                                                                  "maintenance runs late")
        control.resume(DESTINATION, actor="operator:a")
        later = control.pause(DESTINATION, None, actor="operator:b")
        assert (later["paused_by"], later["reason"]) == ("operator:b", "paused by an operator")
