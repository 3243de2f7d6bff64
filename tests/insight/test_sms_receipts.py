"""SMS delivery receipts: the worker asks Arkesel to call back a signed URL of the hub; a receipt there moves the
SMS from `sent` (the gateway has it) to `delivered`, `partially_delivered` or `failed` (the handsets' news).
Only receipts with the hub's token, for a known message, change anything."""

import uuid
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.insight.models import SmsMessage
from modules.insight.services.sms_receipts import receipt_token
from tests.support.insight import ARKESEL_KEY, SENDER, arkesel_accepts, arkesel_balance, create_customer, sends
from tests.support.keys import TEST_KEYS
from tests.support.worker import Drainer

PUBLIC_URL = "https://hub.example.test"
FIRST, SECOND = "233241234567", "233201234567"


@pytest.fixture
def receipts_app(make_app, httpserver):
    return make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""),
                    PUBLIC_URL=PUBLIC_URL + "/")


@pytest.fixture
def client(receipts_app):
    return receipts_app.test_client()


def sent_sms(app, client, headers, httpserver, recipients=(FIRST,)):
    """Send an SMS to `recipients` through the worker; returns its id and the callback URL Arkesel was given
    (without the public address: the test client's path and query)."""
    arkesel_accepts(httpserver, recipients)
    if len(recipients) == 1:
        customer = create_customer(client, headers)
        message_id = client.post("/api/sms/send", headers=headers, json={
            "customer_id": customer["id"], "message": "Pay"}).get_json()["message_id"]
    else:
        arkesel_balance(httpserver)
        message_id = client.post("/api/sms/send-bulk", headers=headers, json={
            "recipients": ["0" + r[3:] for r in recipients], "message": "Pay"}).get_json()["message_id"]
    Drainer(app).drain()
    callback = sends(httpserver)[-1].get_json()["callback_url"]
    assert callback.startswith(f"{PUBLIC_URL}/api/sms/receipts/{message_id}?token=")
    return message_id, callback.removeprefix(PUBLIC_URL)


def state(app, message_id):
    """What a receipt may change: the SMS's status, error and receipts, and its receipt audit entries."""
    with app.app_context():
        sms = db.session.get(SmsMessage, message_id)
        audited = db.session.scalars(select(AuditEntry.details).where(AuditEntry.event == "sms.receipt")).all()
        return sms.status, sms.error, sms.receipts, audited


def with_query(url, fields):
    return f"{url}{'&' if '?' in url else '?'}{urlencode(fields)}"


def status_of(client, headers, message_id):
    answer = client.get(f"/api/sms/status/{message_id}", headers=headers).get_json()
    return answer["status"], answer["receipts"]


def test_without_public_url_no_callback_is_asked_for(make_app, operator_headers, httpserver):
    app = make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""))
    arkesel_accepts(httpserver)
    client = app.test_client()
    customer = create_customer(client, operator_headers)
    client.post("/api/sms/send", headers=operator_headers, json={"customer_id": customer["id"], "message": "Pay"})
    Drainer(app).drain()
    assert "callback_url" not in sends(httpserver)[0].get_json()


def test_a_receipt_from_the_gateway_marks_the_sms_delivered(receipts_app, client, operator_headers, httpserver):
    message_id, callback = sent_sms(receipts_app, client, operator_headers, httpserver)
    assert status_of(client, operator_headers, message_id) == ("sent", {"delivered": 0, "failed": 0, "waiting": 1})
    response = client.post(callback, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"})
    assert (response.status_code, response.get_json()) == (200, {"status": "success"})
    assert status_of(client, operator_headers, message_id) == ("delivered",
                                                               {"delivered": 1, "failed": 0, "waiting": 0})
    status, error, receipts, audited = state(receipts_app, message_id)
    assert (status, error, receipts[FIRST]["status"], receipts[FIRST]["reason"]) == (
        "delivered", None, "DELIVERED", None)
    assert audited == [{"receipt": "DELIVERED", "status": "delivered"}], "no phone number in the audit log"
    again = client.post(callback, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"})
    assert again.status_code == 200 and state(receipts_app, message_id) == (status, error, receipts, audited)


@pytest.mark.parametrize("how", ["json", "form", "query", "aliases"])
def test_receipts_come_as_json_a_form_or_a_query(receipts_app, client, operator_headers, httpserver, how):
    message_id, callback = sent_sms(receipts_app, client, operator_headers, httpserver)
    fields = {"sms_id": f"ark-{FIRST}", "status": "undelivered", "reason": "Absent subscriber"}
    if how == "json":
        response = client.post(callback, json=fields)
    elif how == "form":
        response = client.post(callback, data=fields)
    elif how == "query":
        response = client.get(with_query(callback, fields))
    else:
        response = client.post(callback, json={"message_id": f"ark-{FIRST}", "status": "UNDELIVERED",
                                               "error": "Absent subscriber"})
    assert response.status_code == 200
    status, error, receipts, _ = state(receipts_app, message_id)
    assert (status, error, receipts[FIRST]["status"]) == (
        "failed", "1 of 1 recipient(s) not reached; Arkesel: UNDELIVERED (Absent subscriber)", "UNDELIVERED")
    assert client.get(f"/api/sms/status/{message_id}", headers=operator_headers).get_json()["last_error"] == error


def _tampered(token):
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize("change", ["tampered", "missing", "another_sms", "another_key"])
def test_a_receipt_with_a_wrong_signature_is_refused_and_changes_nothing(make_app, receipts_app, client,
                                                                        operator_headers, httpserver, change):
    message_id, callback = sent_sms(receipts_app, client, operator_headers, httpserver)
    path, token = callback.split("?token=")
    if change == "tampered":
        url = f"{path}?token={_tampered(token)}"
    elif change == "missing":
        url = path
    elif change == "another_sms":
        with receipts_app.app_context():
            url = f"{path}?token={receipt_token(str(uuid.uuid4()))}"
    else:
        other = make_app(SECRET_KEY="a-key-this-hub-never-had")
        with other.app_context():
            url = f"{path}?token={receipt_token(message_id)}"
    before = state(receipts_app, message_id)
    for response in (client.post(url, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"}),
                     client.get(with_query(url, {"sms_id": f"ark-{FIRST}", "status": "DELIVERED"}))):
        assert (response.status_code, response.get_json()) == (403, {"detail": "Invalid receipt token"})
    assert state(receipts_app, message_id) == before and before[0] == "sent"


def test_a_receipt_signed_before_a_key_rotation_is_still_accepted(make_app, receipts_app, client, operator_headers,
                                                                  httpserver):
    message_id, callback = sent_sms(receipts_app, client, operator_headers, httpserver)
    rotated = make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, PUBLIC_URL=PUBLIC_URL,
                       SECRET_KEY=f"a-newer-key,{TEST_KEYS['SECRET_KEY']}")
    response = rotated.test_client().post(callback, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"})
    assert response.status_code == 200 and state(receipts_app, message_id)[0] == "delivered"


def test_a_receipt_for_an_unknown_message_is_refused_and_changes_nothing(receipts_app, client, operator_headers,
                                                                         httpserver):
    message_id, callback = sent_sms(receipts_app, client, operator_headers, httpserver)
    before = state(receipts_app, message_id)
    unknown = str(uuid.uuid4())
    with receipts_app.app_context():
        signed_unknown = f"/api/sms/receipts/{unknown}?token={receipt_token(unknown)}"
    response = client.post(signed_unknown, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"})
    assert (response.status_code, response.get_json()) == (404, {"detail": "SMS message not found"})
    response = client.post(callback, json={"sms_id": "ark-of-another-message", "status": "DELIVERED"})
    assert (response.status_code, response.get_json()) == (404, {"detail": "Arkesel message of this SMS not found"})
    assert client.post(callback, json={"sms_id": f"ark-{FIRST}"}).status_code == 422, "no status"
    assert state(receipts_app, message_id) == before


def test_partial_delivery_and_late_receipts(receipts_app, client, operator_headers, httpserver):
    message_id, callback = sent_sms(receipts_app, client, operator_headers, httpserver, (FIRST, SECOND))

    def receipt(recipient, status, reason=None):
        body = {"sms_id": f"ark-{recipient}", "status": status, **({"reason": reason} if reason else {})}
        assert client.post(callback, json=body).status_code == 200

    receipt(FIRST, "DELIVERED")
    receipt(SECOND, "SENT")
    assert status_of(client, operator_headers, message_id) == ("sent", {"delivered": 1, "failed": 0, "waiting": 1})
    receipt(SECOND, "REJECTED", "Blacklisted number")
    assert status_of(client, operator_headers, message_id) == ("partially_delivered",
                                                               {"delivered": 1, "failed": 1, "waiting": 0})
    settled = state(receipts_app, message_id)
    assert settled[1] == "1 of 2 recipient(s) not reached; Arkesel: REJECTED (Blacklisted number)"
    receipt(FIRST, "FAILED", "late and contradictory")
    receipt(SECOND, "DELIVERED")
    receipt(SECOND, "SENT")
    assert state(receipts_app, message_id) == settled, "a final receipt is kept for good"
