"""The SMS cost guard: daily segment caps for the hub and per operator, and Arkesel's balance before a bulk send.
A refused send stores nothing and spends nothing."""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select
from werkzeug import Response
from werkzeug.serving import make_server

from modules.core import auth
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.insight.models import Customer, SmsMessage, SmsUsage
from tests.insight.test_concurrency import race
from tests.support.insight import ARKESEL_KEY, BALANCE, SENDER, arkesel_balance, create_customer

TWO_PARTS = "a" * 161  # GSM-7: 2 segments
ONE_PART = "Your supply will be cut on Monday."


@pytest.fixture
def capped(make_app, httpserver):
    """An app with SMS configured against `httpserver` and the given caps (and other settings)."""

    def build(hub=0, operator=0, **settings):
        return make_app(**{"ARKESEL_API_KEY": ARKESEL_KEY, "ARKESEL_SENDER_ID": SENDER,
                           "ARKESEL_BASE_URL": httpserver.url_for(""), "SMS_DAILY_SEGMENT_CAP": hub,
                           "SMS_DAILY_SEGMENT_CAP_PER_OPERATOR": operator, **settings})

    return build


def send(client, headers, customer_id, text):
    return client.post("/api/sms/send", headers=headers,
                       json={"customer_id": customer_id, "message": text, "include_arrears": False})


def bulk(client, headers, phones, text):
    return client.post("/api/sms/send-bulk", headers=headers, json={"recipients": phones, "message": text})


def usage(app) -> dict:
    """{scope: segments} counted today; scopes are "hub" and `operator:<id>`."""
    with app.app_context():
        return {row.scope: row.segments for row in db.session.scalars(select(SmsUsage))}


def stored(app) -> tuple[int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(SmsMessage)),
                db.session.scalar(select(func.count()).select_from(OutboxMessage)))


def seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    return (datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC) - now).total_seconds()


def other_operator(app, email="second@example.com") -> dict:
    with app.app_context():
        operator = auth.create_operator(email, "correct-horse-battery", "Another Operator")
        db.session.commit()
        return {"Authorization": f"Bearer {auth.issue_access_token(operator)['access_token']}"}


def test_the_hub_cap_refuses_the_send_that_would_exceed_it(capped, operator_headers):
    app = capped(hub=5)
    client = app.test_client()
    customer = create_customer(client, operator_headers)
    assert [send(client, operator_headers, customer["id"], TWO_PARTS).status_code for _ in range(2)] == [200, 200]
    refused = send(client, operator_headers, customer["id"], TWO_PARTS)
    assert refused.status_code == 429
    assert refused.get_json() == {"detail": "The hub's daily SMS cap is 5 segments (SMS_DAILY_SEGMENT_CAP): 4 used "
                                            "today (UTC), this send needs 2. The count starts again at midnight UTC."}
    assert abs(int(refused.headers["Retry-After"]) - seconds_to_midnight()) < 60
    assert stored(app) == (2, 2), "the refused send stored nothing"
    assert send(client, operator_headers, customer["id"], ONE_PART).status_code == 200, "exactly the cap passes"
    assert send(client, operator_headers, customer["id"], ONE_PART).status_code == 429
    assert usage(app)["hub"] == 5 and stored(app) == (3, 3)


def test_the_operator_cap_refuses_that_operator_only(capped, operator_headers):
    app = capped(hub=100, operator=3)
    client = app.test_client()
    second = other_operator(app)
    customer = create_customer(client, operator_headers)
    assert send(client, operator_headers, customer["id"], TWO_PARTS).status_code == 200
    assert send(client, operator_headers, customer["id"], ONE_PART).status_code == 200
    refused = send(client, operator_headers, customer["id"], ONE_PART)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["detail"].startswith(
        "Your daily SMS cap is 3 segments (SMS_DAILY_SEGMENT_CAP_PER_OPERATOR): 3 used today (UTC), this send needs 1.")
    assert send(client, second, customer["id"], TWO_PARTS).status_code == 200, "another operator has their own cap"
    counts = usage(app)
    assert counts.pop("hub") == 5 and sorted(counts.values()) == [2, 3]


def test_a_bulk_send_costs_its_segments_times_its_recipients(capped, operator_headers, httpserver):
    arkesel_balance(httpserver)
    app = capped(operator=5)
    client = app.test_client()
    phones = ["0241234567", "0201234567", "0551234567"]
    refused = bulk(client, operator_headers, phones, TWO_PARTS)
    assert refused.status_code == 429 and "this send needs 6." in refused.get_json()["detail"]
    assert stored(app) == (0, 0)
    assert bulk(client, operator_headers, phones[:2], TWO_PARTS).status_code == 200
    with app.app_context():
        assert db.session.scalar(select(SmsMessage.segments)) == 2
    assert usage(app)["hub"] == 4


def test_template_sends_count_too(capped, operator_headers):
    app = capped(hub=1)
    client = app.test_client()
    customer = create_customer(client, operator_headers)
    assert client.post(f"/api/sms/send/warning/{customer['id']}", headers=operator_headers).status_code == 200
    assert client.post(f"/api/sms/send/connection/{customer['id']}", headers=operator_headers).status_code == 429


@pytest.mark.parametrize("text, parts", [("Pay now €5 [ref]", 1), ("a" * 151 + "€€€€€", 2), ("Привет", 1),
                                         ("Pay 😀" * 12, 2)])
def test_the_sms_stores_its_segments_and_the_status_shows_them(capped, operator_headers, text, parts):
    app = capped()
    client = app.test_client()
    customer = create_customer(client, operator_headers)
    message_id = send(client, operator_headers, customer["id"], text).get_json()["message_id"]
    status = client.get(f"/api/sms/status/{message_id}", headers=operator_headers).get_json()
    assert status["segments"] == parts
    assert usage(app)["hub"] == parts, "with no cap (0) the day's segments are counted all the same"


def test_a_send_refused_after_the_count_spends_nothing(capped, operator_headers):
    """The count joins the request's transaction: a refusal later in the request (the hourly recipients limit,
    the hub's cap after the operator's count) rolls it back."""
    app = capped(hub=2, operator=10, SMS_RECIPIENTS_PER_HOUR="2/hour")
    client = app.test_client()
    customer = create_customer(client, operator_headers)
    assert send(client, operator_headers, customer["id"], ONE_PART).status_code == 200
    assert bulk(client, operator_headers, ["0241234567", "0201234567"], ONE_PART).status_code == 429  # hourly
    assert send(client, operator_headers, customer["id"], TWO_PARTS).status_code == 429  # the hub's cap
    assert sorted(usage(app).values()) == [1, 1], "neither refusal spent a segment"
    assert send(client, operator_headers, customer["id"], ONE_PART).status_code == 200
    assert sorted(usage(app).values()) == [2, 2] and stored(app) == (2, 2)


def test_sends_refused_for_other_reasons_spend_nothing(capped, operator_headers, httpserver):
    arkesel_balance(httpserver)
    app = capped(hub=10)
    client = app.test_client()
    with app.app_context():
        db.session.add(Customer(name="Kojo Addo", account_number="OLD-1", phone="12345"))
        db.session.commit()
        unusable = db.session.scalar(select(Customer.id))
    answers = [bulk(client, operator_headers, ["0241234567", "555"], ONE_PART).status_code,
               send(client, operator_headers, "00000000-0000-0000-0000-000000000000", ONE_PART).status_code,
               send(client, operator_headers, unusable, ONE_PART).status_code]
    assert answers == [422, 404, 422]
    assert usage(app) == {} and stored(app) == (0, 0)


def _race_bulk_sends(app, headers_list):
    """The same one-segment bulk send by each of `headers_list` at once, over HTTP (a thread and connection
    each); returns the status codes, sorted."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url, body = f"http://127.0.0.1:{server.server_port}/api/sms/send-bulk", {"recipients": ["0241234567"],
                                                                              "message": ONE_PART}
    try:
        answers = race([lambda headers=headers: requests.post(url, headers=headers, json=body, timeout=60)
                        for headers in headers_list])
    finally:
        server.shutdown()
    return sorted(answer.status_code for answer in answers)


@pytest.mark.parametrize("scope", ["hub", "operator"])
def test_sends_at_once_never_take_a_count_over_its_cap(capped, operator_headers, scope):
    """Eight sends at once, by eight operators (the hub's cap) or by one (an operator's cap), after a first send
    that made today's counts: exactly as many pass as the cap has room for."""
    app = capped(**{scope: 4}, ARKESEL_BASE_URL="http://127.0.0.1:9")  # no balance answer: bulk sends go on
    assert bulk(app.test_client(), operator_headers, ["0241234567"], ONE_PART).status_code == 200
    senders = ([other_operator(app, f"racer{n}@example.com") for n in range(8)] if scope == "hub"
               else [operator_headers] * 8)
    assert _race_bulk_sends(app, senders) == [200] * 3 + [429] * 5
    assert max(usage(app).values()) == 4 and stored(app) == (4, 4)


def test_a_bulk_send_the_balance_cannot_pay_is_a_402_and_stores_nothing(capped, operator_headers, httpserver):
    arkesel_balance(httpserver, sms_balance="3")
    app = capped()
    client = app.test_client()
    refused = bulk(client, operator_headers, ["0241234567", "0201234567"], TWO_PARTS)
    assert (refused.status_code, refused.get_json()) == (
        402, {"detail": "The Arkesel balance is 3 SMS; this send needs 4."})
    assert stored(app) == (0, 0) and usage(app) == {}
    [(look_up, _)] = httpserver.log
    assert (look_up.path, look_up.headers["api-key"]) == (BALANCE, ARKESEL_KEY)
    assert bulk(client, operator_headers, ["0241234567"], TWO_PARTS).status_code == 200, "2 of 3: it can pay"
    assert bulk(client, operator_headers, ["0241234567", "0201234567", "0551234567"], ONE_PART).status_code == 200


@pytest.mark.parametrize("answer", ["none", "error", "odd", "slow"])
def test_a_balance_that_cannot_be_read_lets_the_bulk_send_go(capped, operator_headers, httpserver, caplog, answer):
    def slow_balance(_request):
        time.sleep(2)
        return Response('{"status": "success", "data": {"sms_balance": "0"}}', content_type="application/json")

    if answer == "error":
        httpserver.expect_request(BALANCE).respond_with_data("down", status=503)
    elif answer == "odd":
        httpserver.expect_request(BALANCE).respond_with_json({"status": "success", "data": {"sms_balance": "lots"}})
    elif answer == "slow":
        httpserver.expect_request(BALANCE).respond_with_handler(slow_balance)
    # "none": pytest-httpserver answers a path nobody expects with a 500
    app = capped(ARKESEL_STATUS_TIMEOUT_SECONDS=1)
    logging.getLogger().addHandler(caplog.handler)  # building the app set the root logger's handlers anew
    try:
        response = bulk(app.test_client(), operator_headers, ["0241234567"], ONE_PART)
    finally:
        logging.getLogger().removeHandler(caplog.handler)
    assert response.status_code == 200 and stored(app) == (1, 1)
    [warning] = [record for record in caplog.records if record.name == "modules.insight.services.sms_costs"]
    assert warning.getMessage() == "Arkesel balance not read; the bulk SMS is queued unchecked"
    assert ARKESEL_KEY not in str(vars(warning)) and "0241234567" not in str(vars(warning))
    deadline = time.monotonic() + 5  # the slow answer comes after the hub gave up: within this test, not the next
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [request.path for request, _ in httpserver.log] == [BALANCE]


def test_a_send_to_a_customer_does_not_ask_for_the_balance(capped, operator_headers, httpserver):
    arkesel_balance(httpserver, sms_balance="0")
    app = capped()
    client = app.test_client()
    customer = create_customer(client, operator_headers)
    assert send(client, operator_headers, customer["id"], ONE_PART).status_code == 200
    assert httpserver.log == []
