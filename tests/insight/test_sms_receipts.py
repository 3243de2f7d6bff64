"""SMS delivery receipts: the worker asks Arkesel to call back a signed URL of the hub; a receipt there, kept
under its Arkesel message id, moves the SMS from `sent` (the gateway has it) to `delivered`,
`partially_delivered` or `failed` (the handsets' news). Only receipts with the hub's token, for a known
message, change anything; the state follows the recipients' current Arkesel ids."""

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import select
from werkzeug import Response

from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.insight.models import SmsMessage
from modules.insight.services.sms_receipts import receipt_token
from tests.support.insight import (
    ARKESEL_KEY,
    SEND,
    SENDER,
    arkesel_accepts,
    arkesel_balance,
    create_customer,
    sends,
)
from tests.support.keys import TEST_KEYS
from tests.support.worker import Drainer

PUBLIC_URL = "https://hub.example.test"
FIRST, SECOND = "233241234567", "233201234567"
NATIONAL = {FIRST: "0241234567", SECOND: "0201234567"}


@pytest.fixture
def app(make_app, httpserver):
    """The hub with SMS against `httpserver` (Arkesel) and a public address, so that receipts are asked for."""
    return make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""),
                    PUBLIC_URL=PUBLIC_URL + "/")


def queue_sms(client, headers, httpserver, recipients=(FIRST,)):
    """Queue an SMS to `recipients` (a customer's for one, else a bulk send); returns its id."""
    if len(recipients) == 1:
        customer = create_customer(client, headers, phone=NATIONAL.get(recipients[0], recipients[0]))
        response = client.post("/api/sms/send", headers=headers, json={"customer_id": customer["id"],
                                                                       "message": "Pay"})
    else:
        arkesel_balance(httpserver)
        response = client.post("/api/sms/send-bulk", headers=headers, json={
            "recipients": ["0" + r[3:] for r in recipients], "message": "Pay"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["message_id"]


def sent_sms(app, client, headers, httpserver, recipients=(FIRST,)):
    """Send an SMS to `recipients` through the worker, Arkesel answering the id `ark-<recipient>` for each;
    returns its id and the callback URL Arkesel was given (the test client's path and query)."""
    arkesel_accepts(httpserver, recipients)
    message_id = queue_sms(client, headers, httpserver, recipients)
    Drainer(app).drain()
    return message_id, callback_of(message_id, httpserver)


def callback_of(message_id, httpserver):
    callback = sends(httpserver)[-1].get_json()["callback_url"]
    assert callback.startswith(f"{PUBLIC_URL}/api/sms/receipts/{message_id}?token=")
    return callback.removeprefix(PUBLIC_URL)


def arkesel_answers(httpserver, answer):
    """Arkesel answers the next send (only that one) with `answer`."""
    httpserver.expect_oneshot_request(SEND, method="POST").respond_with_json(answer)


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


def counts(delivered=0, failed=0, waiting=0, untracked=0):
    return {"delivered": delivered, "failed": failed, "waiting": waiting, "untracked": untracked}


def receipt(client, callback, arkesel_id, status, **fields):
    response = client.post(callback, json={"sms_id": arkesel_id, "status": status, **fields})
    assert response.status_code == 200, response.get_json()


def test_without_public_url_no_callback_is_asked_for(make_app, operator_headers, httpserver):
    app = make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""))
    arkesel_accepts(httpserver)
    client = app.test_client()
    customer = create_customer(client, operator_headers)
    client.post("/api/sms/send", headers=operator_headers, json={"customer_id": customer["id"], "message": "Pay"})
    Drainer(app).drain()
    assert "callback_url" not in sends(httpserver)[0].get_json()


def test_a_receipt_from_the_gateway_marks_the_sms_delivered(app, client, operator_headers, httpserver):
    message_id, callback = sent_sms(app, client, operator_headers, httpserver)
    assert status_of(client, operator_headers, message_id) == ("sent", counts(waiting=1))
    response = client.post(callback, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"})
    assert (response.status_code, response.get_json()) == (200, {"status": "success"})
    assert status_of(client, operator_headers, message_id) == ("delivered", counts(delivered=1))
    status, error, receipts, audited = state(app, message_id)
    assert (status, error, list(receipts), receipts[f"ark-{FIRST}"]["status"], receipts[f"ark-{FIRST}"]["reason"]) \
        == ("delivered", None, [f"ark-{FIRST}"], "DELIVERED", None), "kept under the Arkesel id, not the number"
    assert audited == [{"receipt": "DELIVERED", "status": "delivered"}], "no phone number in the audit log"
    again = client.post(callback, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"})
    assert again.status_code == 200 and state(app, message_id) == (status, error, receipts, audited)


@pytest.mark.parametrize("how", ["json", "form", "query", "aliases"])
def test_receipts_come_as_json_a_form_or_a_query(app, client, operator_headers, httpserver, how):
    message_id, callback = sent_sms(app, client, operator_headers, httpserver)
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
    status, error, receipts, _ = state(app, message_id)
    assert (status, error, receipts[f"ark-{FIRST}"]["status"]) == (
        "failed", "1 of 1 recipient(s) not reached; Arkesel: UNDELIVERED (Absent subscriber)", "UNDELIVERED")
    assert client.get(f"/api/sms/status/{message_id}", headers=operator_headers).get_json()["last_error"] == error


def _tampered(token):
    """The token with its first character changed. Not the last: of its 6 bits, base64 leaves the last 2 of a
    32-byte signature unused, so `A` for `B` there is the same signature."""
    return ("A" if token[0] != "A" else "B") + token[1:]


@pytest.mark.parametrize("change", ["tampered", "missing", "another_sms", "another_key"])
def test_a_receipt_with_a_wrong_signature_is_refused_and_changes_nothing(make_app, app, client, operator_headers,
                                                                        httpserver, change):
    message_id, callback = sent_sms(app, client, operator_headers, httpserver)
    path, token = callback.split("?token=")
    if change == "tampered":
        url = f"{path}?token={_tampered(token)}"
    elif change == "missing":
        url = path
    elif change == "another_sms":
        with app.app_context():
            url = f"{path}?token={receipt_token(str(uuid.uuid4()))}"
    else:
        other = make_app(SECRET_KEY="a-key-this-hub-never-had")
        with other.app_context():
            url = f"{path}?token={receipt_token(message_id)}"
    before = state(app, message_id)
    for response in (client.post(url, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"}),
                     client.get(with_query(url, {"sms_id": f"ark-{FIRST}", "status": "DELIVERED"}))):
        assert (response.status_code, response.get_json()) == (403, {"detail": "Invalid receipt token"})
    assert state(app, message_id) == before and before[0] == "sent"


def test_a_receipt_signed_before_a_key_rotation_is_still_accepted(make_app, app, client, operator_headers,
                                                                  httpserver):
    message_id, callback = sent_sms(app, client, operator_headers, httpserver)
    rotated = make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, PUBLIC_URL=PUBLIC_URL,
                       SECRET_KEY=f"a-newer-key,{TEST_KEYS['SECRET_KEY']}")
    response = rotated.test_client().post(callback, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"})
    assert response.status_code == 200 and state(app, message_id)[0] == "delivered"


def test_a_receipt_for_an_unknown_message_or_without_a_status_is_refused_and_changes_nothing(
        app, client, operator_headers, httpserver):
    message_id, callback = sent_sms(app, client, operator_headers, httpserver)
    before = state(app, message_id)
    unknown = str(uuid.uuid4())
    with app.app_context():
        signed_unknown = f"/api/sms/receipts/{unknown}?token={receipt_token(unknown)}"
    response = client.post(signed_unknown, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"})
    assert (response.status_code, response.get_json()) == (404, {"detail": "SMS message not found"})
    assert client.post(callback, json={"sms_id": f"ark-{FIRST}"}).status_code == 422, "no status"
    assert client.post(callback, json={"status": "DELIVERED"}).status_code == 422, "no Arkesel id"
    assert state(app, message_id) == before


def test_receipts_of_ids_the_sms_does_not_know_are_kept_up_to_one_per_recipient(app, client, operator_headers,
                                                                                httpserver):
    """A receipt may name an id the hub has not stored yet (see the next test): it is kept, but a holder of the
    callback URL can store no more unmatched ids than the SMS has recipients."""
    message_id, callback = sent_sms(app, client, operator_headers, httpserver, (FIRST, SECOND))
    receipt(client, callback, "ark-not-yet-known-1", "SENT")
    receipt(client, callback, "ark-not-yet-known-2", "REJECTED")
    receipt(client, callback, "ark-not-yet-known-1", "DELIVERED")
    before = state(app, message_id)
    assert (before[0], sorted(before[2])) == ("sent", ["ark-not-yet-known-1", "ark-not-yet-known-2"]), \
        "kept, and counting for no recipient"
    response = client.post(callback, json={"sms_id": "ark-one-too-many", "status": "DELIVERED"})
    assert (response.status_code, response.get_json()) == (404, {"detail": "Arkesel message of this SMS not found"})
    assert state(app, message_id) == before
    receipt(client, callback, f"ark-{FIRST}", "DELIVERED")
    assert status_of(client, operator_headers, message_id) == ("sent", counts(delivered=1, waiting=1)), \
        "the SMS's own ids are always kept"


def test_a_receipt_arriving_while_the_worker_still_sends_is_not_lost(app, client, operator_headers, httpserver):
    """Arkesel may call back (a fast REJECTED) before the worker has stored the Arkesel ids: the receipt is kept
    under its id, and the worker, reading the SMS again after the send, neither overwrites nor ignores it."""
    early = {}

    def arkesel_calls_back_at_once(request):
        callback = request.get_json()["callback_url"].removeprefix(PUBLIC_URL)
        answer = app.test_client().post(callback, json={"sms_id": f"ark-{FIRST}", "status": "REJECTED",
                                                        "reason": "Blacklisted number"})
        early["answer"] = answer.status_code, answer.get_json()
        return Response(json.dumps({"status": "success", "data": [{"recipient": FIRST, "id": f"ark-{FIRST}"}]}),
                        content_type="application/json")

    httpserver.expect_request(SEND, method="POST").respond_with_handler(arkesel_calls_back_at_once)
    message_id = queue_sms(client, operator_headers, httpserver)
    Drainer(app).drain()
    assert early["answer"] == (200, {"status": "success"})
    assert status_of(client, operator_headers, message_id) == ("failed", counts(failed=1))
    status, error, receipts, _ = state(app, message_id)
    assert (error, receipts[f"ark-{FIRST}"]["status"]) == (
        "1 of 1 recipient(s) not reached; Arkesel: REJECTED (Blacklisted number)", "REJECTED")


def test_a_recipient_arkesel_gave_no_id_is_failed_and_the_sms_never_delivered(app, client, operator_headers,
                                                                              httpserver):
    """Arkesel answered ids for one recipient of two: the other was not accepted. Once the first is DELIVERED,
    the SMS is partially delivered, never `delivered`, and no status look-up is made for the other."""
    arkesel_balance(httpserver)
    arkesel_accepts(httpserver, (FIRST,))
    message_id = queue_sms(client, operator_headers, httpserver, (FIRST, SECOND))
    Drainer(app).drain()
    assert status_of(client, operator_headers, message_id) == ("sent", counts(failed=1, waiting=1))
    receipt(client, callback_of(message_id, httpserver), f"ark-{FIRST}", "DELIVERED")
    answer = client.get(f"/api/sms/status/{message_id}", headers=operator_headers).get_json()
    assert (answer["status"], answer["receipts"], answer["last_error"]) == (
        "partially_delivered", counts(delivered=1, failed=1),
        "1 of 2 recipient(s) not reached; Arkesel did not accept this number")
    assert [request.path for request, _ in httpserver.log if request.method == "GET"
            and request.path.startswith("/api/v2/sms/")] == [f"/api/v2/sms/ark-{FIRST}"] * 2


def test_ids_arkesel_writes_with_a_plus_are_matched_to_their_recipients(app, client, operator_headers, httpserver):
    arkesel_answers(httpserver, {"status": "success", "data": [{"recipient": f"+{FIRST}", "id": "ark-plus"}]})
    message_id = queue_sms(client, operator_headers, httpserver)
    Drainer(app).drain()
    receipt(client, callback_of(message_id, httpserver), "ark-plus", "DELIVERED")
    assert status_of(client, operator_headers, message_id) == ("delivered", counts(delivered=1))


@pytest.mark.parametrize("data", [{"invalid numbers": [FIRST]}, None, "accepted"])
def test_an_sms_arkesel_listed_no_ids_for_is_untracked_not_sent_forever(app, client, operator_headers, httpserver,
                                                                       data):
    """Arkesel answered `success` without a list of ids: the SMS was accepted, but no receipt can be matched to
    its recipients, so it does not stay `sent`, waiting for receipts that cannot count."""
    arkesel_answers(httpserver, {"status": "success", "data": data})
    message_id = queue_sms(client, operator_headers, httpserver)
    Drainer(app).drain()
    answer = client.get(f"/api/sms/status/{message_id}", headers=operator_headers).get_json()
    assert (answer["status"], answer["receipts"], answer["last_error"], answer["provider"]) == (
        "untracked", counts(untracked=1), "1 of 1 recipient(s) untracked (Arkesel gave no message id)", [])


def test_replaying_a_delivered_sms_tracks_the_new_send(app, client, operator_headers, httpserver):
    """An operator's replay of a delivered SMS sends it again under new Arkesel ids: the state follows them;
    the first send's receipts stay stored but no longer count."""
    arkesel_answers(httpserver, {"status": "success", "data": [{"recipient": FIRST, "id": "ark-first-send"}]})
    arkesel_answers(httpserver, {"status": "success", "data": [{"recipient": FIRST, "id": "ark-second-send"}]})
    message_id = queue_sms(client, operator_headers, httpserver)
    Drainer(app).drain()
    receipt(client, callback_of(message_id, httpserver), "ark-first-send", "DELIVERED")
    with app.app_context():
        outbox_id = db.session.get(SmsMessage, message_id).outbox_id
    replayed = client.post("/api/admin/outbox/replay", headers=operator_headers,
                           json={"ids": [outbox_id], "status": "delivered"})
    assert replayed.get_json()["replayed"] == 1
    Drainer(app).drain()
    assert len(sends(httpserver)) == 2
    assert status_of(client, operator_headers, message_id) == ("sent", counts(waiting=1))
    receipt(client, callback_of(message_id, httpserver), "ark-second-send", "FAILED")
    assert status_of(client, operator_headers, message_id) == ("failed", counts(failed=1))
    assert sorted(state(app, message_id)[2]) == ["ark-first-send", "ark-second-send"]


def test_a_gateway_message_field_is_not_taken_for_the_reason(app, client, operator_headers, httpserver):
    """Gateways' callbacks carry the SMS text in `message`: it is never read, so a long one does not cost the
    receipt, and the text is neither stored nor answered."""
    message_id, callback = sent_sms(app, client, operator_headers, httpserver, (FIRST, SECOND))
    text = "Dear Ama Mensah, your arrears are GHS 120.50. " * 8
    receipt(client, callback, f"ark-{FIRST}", "DELIVERED", message=text)
    receipt(client, callback, f"ark-{SECOND}", "UNDELIVERED", message="Dear Kofi, pay GHS 80.00")
    status, error, receipts, _ = state(app, message_id)
    assert (status, error) == ("partially_delivered", "1 of 2 recipient(s) not reached; Arkesel: UNDELIVERED")
    assert [kept["reason"] for kept in receipts.values()] == [None, None]
    assert "GHS" not in client.get(f"/api/sms/status/{message_id}", headers=operator_headers).get_data(as_text=True)


@pytest.mark.parametrize(("given", "kept"), [
    ("Subscriber absent. " * 30, ("Subscriber absent. " * 30)[:300]),
    (34, "34"),
    ("   ", None),
])
def test_a_long_or_numeric_reason_does_not_cost_the_receipt(app, client, operator_headers, httpserver, given, kept):
    """The reason is the gateway's diagnostic text: one longer than 300 characters is cut, an error code that is
    a number is kept as text, a blank one is none; the receipt is kept in every case."""
    message_id, callback = sent_sms(app, client, operator_headers, httpserver)
    receipt(client, callback, f"ark-{FIRST}", "FAILED", error=given)
    status, error, receipts, _ = state(app, message_id)
    assert (status, receipts[f"ark-{FIRST}"]["reason"]) == ("failed", kept)
    assert error == "1 of 1 recipient(s) not reached; Arkesel: FAILED" + (f" ({kept})" if kept else "")


def test_partial_delivery_and_late_receipts(app, client, operator_headers, httpserver):
    message_id, callback = sent_sms(app, client, operator_headers, httpserver, (FIRST, SECOND))
    receipt(client, callback, f"ark-{FIRST}", "DELIVERED")
    receipt(client, callback, f"ark-{SECOND}", "SENT")
    assert status_of(client, operator_headers, message_id) == ("sent", counts(delivered=1, waiting=1))
    receipt(client, callback, f"ark-{SECOND}", "REJECTED", reason="Blacklisted number")
    assert status_of(client, operator_headers, message_id) == ("partially_delivered", counts(delivered=1, failed=1))
    settled = state(app, message_id)
    assert settled[1] == "1 of 2 recipient(s) not reached; Arkesel: REJECTED (Blacklisted number)"
    receipt(client, callback, f"ark-{FIRST}", "FAILED", reason="late and contradictory")
    receipt(client, callback, f"ark-{SECOND}", "DELIVERED")
    receipt(client, callback, f"ark-{SECOND}", "SENT")
    assert state(app, message_id) == settled, "a final receipt is kept for good"


def test_receipts_arriving_at_once_are_all_kept(app, client, live_server, operator_headers, httpserver):
    """Receipts of one SMS's recipients at the same moment (over real HTTP, one connection each): each
    is kept and the state counts them all, on SQLite too (a write there takes the lock before the read)."""
    recipients = tuple(f"2332412345{n:02d}" for n in range(8))
    arkesel_accepts(httpserver, recipients)
    for _ in range(3):
        message_id = queue_sms(client, operator_headers, httpserver, recipients)
        Drainer(app).drain()
        url = live_server + callback_of(message_id, httpserver)
        barrier = threading.Barrier(len(recipients))

        def post(recipient, url=url, barrier=barrier):
            barrier.wait()
            return requests.post(url, json={"sms_id": f"ark-{recipient}", "status": "DELIVERED"}, timeout=60)

        with ThreadPoolExecutor(len(recipients)) as pool:
            answers = list(pool.map(post, recipients))
        assert [answer.status_code for answer in answers] == [200] * len(recipients)
        assert status_of(client, operator_headers, message_id) == ("delivered", counts(delivered=len(recipients)))


def test_openapi_documents_the_422_of_a_posted_receipt(client):
    """The POST receipt view loads its body by hand (JSON, a form or the query): its 422 is documented all the
    same."""
    operation = client.get("/openapi.json").get_json()["paths"]["/api/sms/receipts/{sms_id}"]["post"]
    assert "No Arkesel id or no status" in operation["responses"]["422"]["description"]
