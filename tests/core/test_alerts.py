"""Outbox alerts to ADMIN_EMAIL through a real SMTP server on loopback: one digest per destination per window
when a breaker opens, messages go dead or the backlog grows old; logged and shown on /health when SMTP itself
is the trouble."""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from modules.core import outbox
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.outbox import alerts, control, delivery, destinations
from modules.core.request_log import JsonFormatter
from modules.core.types import utcnow
from tests.support.handlers import KIND
from tests.support.smtp import outbox_id
from tests.support.worker import Drainer

ADMINS = ["ops@example.com", "oncall@example.com"]
WINDOW = 1800
PRIVATE = "jeanne.private@example.com"  # in every test message's body: never in an alert


def alert_settings(smtp_server, **overrides):
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port, "SMTP_TLS": False, "FROM_EMAIL": "hub@example.com",
            "ADMIN_EMAIL": ", ".join(ADMINS), "OUTBOX_BREAKER_THRESHOLD": 3, **overrides}


@pytest.fixture
def app(make_app, smtp_server):
    """Made before the test body runs, so that caplog still sees the records (create_app resets logging)."""
    return make_app(**alert_settings(smtp_server))


@pytest.fixture
def clock(monkeypatch):
    """The delivery engine's clock, moved forward by the test instead of sleeping."""
    moved = {"offset": timedelta(0)}
    monkeypatch.setattr(delivery, "utcnow", lambda: utcnow() + moved["offset"])
    return moved


def add(app, url, n=0):
    with app.app_context():
        message_id = outbox.add(KIND, {"url": url, "body": {"n": n, "email": PRIVATE}})
        db.session.commit()
        return message_id


def alert_mails(smtp_server):
    mails = [mail for mail in smtp_server.received if mail.message["Subject"].startswith("[hub] outbox alert")]
    assert all(sorted(mail.recipients) == sorted(ADMINS) for mail in mails)
    return mails


def check(app, minutes_from_now=0):
    with app.app_context():
        return alerts.check(now=utcnow() + timedelta(minutes=minutes_from_now))


def alert_rows(app):
    with app.app_context():
        return db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == alerts.ALERT_KIND)).all()


def test_an_opened_breaker_sends_one_digest_naming_the_destination_error_and_backlog(app, worker, httpserver,
                                                                                      smtp_server, clock):
    httpserver.expect_request("/hook").respond_with_data("peer down for maintenance", status=503)
    for n in range(3):
        add(app, httpserver.url_for("/hook"), n)
    worker.drain()

    [mail] = alert_mails(smtp_server)
    assert mail.message["Subject"] == f"[hub] outbox alert: {KIND} open"
    assert mail.message["From"] == "Integration hub <hub@example.com>"
    [row] = alert_rows(app)
    assert outbox_id(mail.message["Message-ID"]) == row.id and row.status == "delivered"
    text = mail.message.get_content()
    for expected in (f"Destination: {KIND} (kinds: {KIND})", "State: circuit breaker open since",
                     "- circuit breaker open after 3 consecutive failures",
                     "Last error: HTTP 503: peer down for maintenance (status 503", "Waiting: 3 pending, 0 dead",
                     "flask outbox destinations", f"flask outbox list --status dead --kind {KIND}",
                     f"flask outbox replay --kind {KIND}"):
        assert expected in text, expected
    assert PRIVATE not in text and httpserver.url_for("/hook") not in text, "no payload, no URL of a message"

    # Within the window: checks, a failed probe and a message going dead send nothing more.
    assert check(app) == {KIND: "within the window"}
    assert check(app, minutes_from_now=29) == {KIND: "within the window"}
    clock["offset"] = timedelta(seconds=61)
    with app.app_context():
        outbox.sweep(now=utcnow() + clock["offset"])
    worker.drain()
    assert control_state(app)["state"] == "open", "the probe failed"
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("gone", status=410)
    clock["offset"] = timedelta(seconds=200)
    with app.app_context():
        outbox.sweep(now=utcnow() + clock["offset"])
    worker.drain()
    dead = control_state(app)["dead"]
    assert dead == 3, "the probe's 410 is final, and the breaker closed: the other two went too"
    assert len(alert_mails(smtp_server)) == 1

    # After the window, a new digest, counting the message that went dead since the first one.
    assert check(app, minutes_from_now=31) == {KIND: "mailed"}
    worker.drain()
    first, second = alert_mails(smtp_server)
    assert second.message["Subject"] == f"[hub] outbox alert: {KIND} active"
    assert f"{dead} messages went dead since" in second.message.get_content()
    assert "Last error: HTTP 410: gone (status 410" in second.message.get_content()


def control_state(app):
    with app.app_context():
        return control.state(KIND)


def test_a_message_going_dead_alerts_at_once(app, worker, httpserver, smtp_server):
    httpserver.expect_request("/hook").respond_with_data("no such customer", status=404)
    add(app, httpserver.url_for("/hook"))
    worker.drain()
    [mail] = alert_mails(smtp_server)
    assert mail.message["Subject"] == f"[hub] outbox alert: {KIND} active"
    text = mail.message.get_content()
    assert "1 message went dead since" in text and "Waiting: 0 pending, 1 dead" in text
    assert "Last error: HTTP 404: no such customer (status 404" in text


def test_an_old_backlog_alerts_and_a_young_one_does_not(app, worker, smtp_server):
    message_id = add(app, "")  # no URL yet: the message waits (deferred), as behind a missing setting
    worker.drain()
    assert check(app) == {}, "an hour has not passed"
    with app.app_context():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                           .values(created_at=utcnow() - timedelta(hours=2, minutes=5)))
        db.session.commit()
    assert check(app) == {KIND: "mailed"}
    worker.drain()
    [mail] = alert_mails(smtp_server)
    text = mail.message.get_content()
    assert "the oldest waiting message is 2 h 05 min old" in text and "Waiting: 1 pending, 0 dead" in text
    assert "Last error: deferred: no URL configured yet" in text


def test_the_backlog_alert_can_be_turned_off(make_app, smtp_server):
    app = make_app(**alert_settings(smtp_server, OUTBOX_BACKLOG_ALERT_SECONDS=0))
    message_id = add(app, "")
    with app.app_context():
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == message_id)
                           .values(created_at=utcnow() - timedelta(days=3)))
        db.session.commit()
    assert check(app) == {}


def test_several_workers_checking_at_once_send_one_alert(make_app, smtp_server, httpserver):
    apps = [make_app(**alert_settings(smtp_server)) for _ in range(4)]
    httpserver.expect_request("/hook").respond_with_data("refused", status=400)
    add(apps[0], httpserver.url_for("/hook"))
    Drainer(apps[0]).drain(queues=("outbox",))  # dead; the alert check it queued waits on the periodic queue

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda each: check(each)[KIND], apps))
    assert sorted(outcomes) == ["mailed"] + ["within the window"] * 3
    Drainer(apps[0]).drain()
    assert len(alert_mails(smtp_server)) == 1


def open_smtp_breaker(app):
    with app.app_context():
        for _ in range(3):
            destinations.failed("smtp", "SMTP connection failed: ConnectionRefusedError", utcnow(), probe=False)
        db.session.commit()


def test_smtp_in_trouble_is_logged_and_shown_on_health_not_queued_behind_itself(app, client, worker, httpserver,
                                                                                 smtp_server, caplog):
    caplog.set_level(logging.INFO, logger="modules.core.outbox.alerts")
    open_smtp_breaker(app)
    httpserver.expect_request("/hook").respond_with_data("peer says: maintenance", status=503)
    for n in range(3):
        add(app, httpserver.url_for("/hook"), n)
    worker.drain()  # the test kind's breaker opens too, and its alert would wait behind SMTP's: both are logged

    assert check(app) == {"smtp": "within the window", KIND: "within the window"}
    assert alert_rows(app) == [] and alert_mails(smtp_server) == []
    logged = {record.destination: record for record in caplog.records if record.name == alerts.__name__}
    assert set(logged) == {"smtp", KIND} and {record.levelname for record in logged.values()} == {"ERROR"}
    assert logged["smtp"].getMessage() == "outbox alert not mailed: the failing destination is SMTP itself"
    assert logged[KIND].getMessage() == "outbox alert not mailed: the smtp destination is open"
    assert (logged[KIND].state, logged[KIND].pending, logged[KIND].last_status_code) == ("open", 3, 503)
    line = JsonFormatter().format(logged[KIND])
    assert "maintenance" not in line and PRIVATE not in line, "no peer's text, no payload"

    shown = {alert["destination"]: alert for alert in client.get("/health").get_json()["alerts"]}
    assert set(shown) == {"smtp", KIND}
    assert shown["smtp"]["alert"].startswith("smtp open since ")
    assert "circuit breaker open after 3 consecutive failures" in shown["smtp"]["alert"]
    assert shown[KIND]["alert"].endswith("3 pending, 0 dead") and "maintenance" not in shown[KIND]["alert"]
    assert shown["smtp"]["at"].endswith("Z")

    with app.app_context():
        control.close_breaker("smtp", actor="operator:test")
        control.close_breaker(KIND, actor="operator:test")
        db.session.execute(update(OutboxMessage).where(OutboxMessage.kind == KIND).values(status="delivered"))
        db.session.commit()
    assert check(app) == {}
    assert client.get("/health").get_json()["alerts"] == [], "the reasons are gone"


@pytest.mark.parametrize("missing", ["SMTP_HOST", "ADMIN_EMAIL"])
def test_without_smtp_or_admin_email_the_alert_is_logged_and_shown(make_app, smtp_server, httpserver, missing):
    app = make_app(**alert_settings(smtp_server, **{missing: ""}))
    httpserver.expect_request("/hook").respond_with_data("gone", status=410)
    add(app, httpserver.url_for("/hook"))
    Drainer(app).drain()
    assert alert_rows(app) == []
    [shown] = app.test_client().get("/health").get_json()["alerts"]
    assert shown["destination"] == KIND and "1 message went dead since" in shown["alert"]


def test_an_alert_whose_send_fails_is_retried_like_any_email(app, worker, httpserver, smtp_server):
    smtp_server.stop()
    httpserver.expect_request("/hook").respond_with_data("gone", status=410)
    add(app, httpserver.url_for("/hook"))
    worker.drain()
    [row] = alert_rows(app)
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.last_error == "SMTP connection failed: ConnectionRefusedError"

    smtp_server.start()
    with app.app_context():
        outbox.sweep(now=utcnow() + timedelta(seconds=45))
    worker.drain()
    [mail] = alert_mails(smtp_server)
    assert outbox_id(mail.message["Message-ID"]) == row.id
    assert [row.status for row in alert_rows(app)] == ["delivered"]
