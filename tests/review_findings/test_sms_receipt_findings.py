"""Review of issue 15 (Insight SMS delivery receipts and cost guard): findings that fail today."""

from __future__ import annotations

import json

import pytest
from werkzeug import Response

from modules.core.extensions import db
from modules.insight.models import SmsMessage
from tests.support.insight import ARKESEL_KEY, SEND, SENDER, arkesel_accepts, arkesel_balance, create_customer, sends
from tests.support.worker import Drainer

PUBLIC_URL = "https://hub.example.test"
FIRST, SECOND = "233241234567", "233201234567"


@pytest.fixture
def receipts_app(make_app, httpserver):
    return make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""),
                    PUBLIC_URL=PUBLIC_URL)


@pytest.fixture
def client(receipts_app):
    return receipts_app.test_client()


def _send_one(client, headers):
    customer = create_customer(client, headers)
    response = client.post("/api/sms/send", headers=headers, json={"customer_id": customer["id"], "message": "Pay"})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["message_id"]


def _status(client, headers, message_id):
    answer = client.get(f"/api/sms/status/{message_id}", headers=headers).get_json()
    return answer["status"], answer["receipts"]


def _callback(httpserver):
    return sends(httpserver)[-1].get_json()["callback_url"].removeprefix(PUBLIC_URL)


def test_a_receipt_arriving_while_the_worker_still_sends_is_not_lost(receipts_app, client, operator_headers,
                                                                      httpserver):
    """Arkesel may call the callback (a fast REJECTED/FAILED) before the worker has committed the Arkesel ids.
    Today the receipt is answered 404 (record_receipt finds no provider id) and is lost for good: the SMS stays
    `sent` forever. Expected: the receipt is kept (or refused with a retryable status so Arkesel calls again)."""
    early = {}

    def arkesel_calls_back_at_once(request):
        callback = request.get_json()["callback_url"].removeprefix(PUBLIC_URL)
        answer = receipts_app.test_client().post(callback, json={"sms_id": f"ark-{FIRST}", "status": "REJECTED"})
        early["status_code"] = answer.status_code
        return Response(json.dumps({"status": "success", "data": [{"recipient": FIRST, "id": f"ark-{FIRST}"}]}),
                        content_type="application/json")

    httpserver.expect_request(SEND, method="POST").respond_with_handler(arkesel_calls_back_at_once)
    message_id = _send_one(client, operator_headers)
    Drainer(receipts_app).drain()
    assert early["status_code"] != 404 or _status(client, operator_headers, message_id)[0] == "failed", (
        "the early receipt was answered 404 and dropped: Arkesel does not retry a 404, the SMS stays `sent`")
    assert early["status_code"] < 400 or early["status_code"] in (409, 425, 503), early


def test_a_recipient_arkesel_gave_no_id_keeps_the_sms_from_being_delivered(receipts_app, client, operator_headers,
                                                                           httpserver):
    """Arkesel answered an id for one recipient of two (it dropped the other). Once that one is DELIVERED the
    status says `delivered` ("every recipient's handset has it", docs/insight.md) while `receipts` says one
    recipient is still waiting: message_state looks only at provider_ids, receipt_counts at recipients."""
    arkesel_balance(httpserver)
    arkesel_accepts(httpserver, (FIRST,))  # ids for FIRST only
    response = client.post("/api/sms/send-bulk", headers=operator_headers, json={
        "recipients": ["0241234567", "0201234567"], "message": "Pay"})
    message_id = response.get_json()["message_id"]
    Drainer(receipts_app).drain()
    assert client.post(_callback(httpserver), json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"}).status_code == 200
    status, receipts = _status(client, operator_headers, message_id)
    assert receipts == {"delivered": 1, "failed": 0, "waiting": 1}
    assert status != "delivered", (status, receipts)


def test_replaying_a_delivered_sms_tracks_the_new_send(receipts_app, client, operator_headers, httpserver):
    """docs/operations.md: a replay with status `delivered` delivers again. The SMS is sent again (status
    `sent`) but keeps the old send's receipts: every receipt of the new send is ignored as "late", so the
    SMS answers `sent` with receipts {"delivered": 1, "waiting": 0} forever, and a FAILED resend is never seen."""
    arkesel_accepts(httpserver)
    message_id = _send_one(client, operator_headers)
    Drainer(receipts_app).drain()
    callback = _callback(httpserver)
    assert client.post(callback, json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED"}).status_code == 200
    with receipts_app.app_context():
        outbox_id = db.session.get(SmsMessage, message_id).outbox_id
    replayed = client.post("/api/admin/outbox/replay", headers=operator_headers,
                           json={"ids": [outbox_id], "status": "delivered"})
    assert replayed.get_json()["replayed"] == 1
    Drainer(receipts_app).drain()
    assert len(sends(httpserver)) == 2
    assert client.post(_callback(httpserver), json={"sms_id": f"ark-{FIRST}", "status": "FAILED"}).status_code == 200
    assert _status(client, operator_headers, message_id) == ("failed", {"delivered": 0, "failed": 1, "waiting": 0})


def test_a_gateway_message_field_is_not_taken_for_the_reason(receipts_app, client, operator_headers, httpserver):
    """RECEIPT_ALIASES reads `message` as the failure reason. Gateways' callbacks (Routee, ...) carry the SMS text
    in `message`: a text over 300 characters makes the whole receipt a 422 (the DELIVERED is lost), and a shorter
    one is stored as the error and shown in the status answer's last_error (message text leaked into an error)."""
    arkesel_accepts(httpserver)
    message_id = _send_one(client, operator_headers)
    Drainer(receipts_app).drain()
    text = "Dear Ama Mensah, your arrears are GHS 120.50. " * 8
    response = client.post(_callback(httpserver), json={"sms_id": f"ark-{FIRST}", "status": "DELIVERED",
                                                         "message": text})
    assert response.status_code == 200, response.get_json()
    assert _status(client, operator_headers, message_id)[0] == "delivered"


def test_an_sms_arkesel_gave_no_id_for_does_not_stay_sent_forever(receipts_app, client, operator_headers, httpserver):
    """Arkesel answers `success` with `"data": {"invalid numbers": [...]}` (an object, not the list of ids) when it
    drops the numbers. ArkeselClient.send reads no id, the worker stores status `sent` with provider_ids {}, and
    message_state answers `sent` for good (no receipt can ever match: every one is a 404). Expected: the SMS is
    not reported as accepted for recipients Arkesel gave no id (failed, naming them, or at least not `sent`)."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"status": "success", "data": {"invalid numbers": [FIRST]}})
    message_id = _send_one(client, operator_headers)
    Drainer(receipts_app).drain()
    assert _status(client, operator_headers, message_id)[0] != "sent"


def test_openapi_documents_the_422_of_a_posted_receipt(client):
    """POST /api/sms/receipts/<id> answers 422 for a receipt without an id or status (docs/insight.md), but its
    OpenAPI operation lists only 200, 403, 404 (the view loads ReceiptSchema by hand, without blp.arguments)."""
    operation = client.get("/openapi.json").get_json()["paths"]["/api/sms/receipts/{sms_id}"]["post"]
    assert "422" in operation["responses"], sorted(operation["responses"])
