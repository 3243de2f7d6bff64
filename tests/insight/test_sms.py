"""SMS go to Arkesel (a local HTTP server here) from the worker, through the outbox."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from modules.core import outbox
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.types import utcnow
from modules.insight.models import CustomerAction, SmsMessage
from tests.support.insight import ARKESEL_KEY, SEND, SENDER, arkesel_accepts, arkesel_balance, create_customer, sends
from tests.support.worker import Drainer


def stored_sms(app, message_id):
    with app.app_context():
        sms = db.session.get(SmsMessage, message_id)
        queued = db.session.get(OutboxMessage, sms.outbox_id)
        actions = db.session.scalars(select(CustomerAction.action).where(CustomerAction.source == "sms")).all()
        return sms.status, queued.status, queued.attempts, list(actions)


def test_a_customer_sms_reaches_arkesel_exactly(sms_client, operator_headers, customer, sms_worker, httpserver,
                                                sms_app):
    arkesel_accepts(httpserver)
    response = sms_client.post("/api/sms/send", headers=operator_headers,
                               json={"customer_id": customer["id"], "message": "Please pay today."})
    assert response.status_code == 200
    body = response.get_json()
    assert body == {"status": "success", "message": "SMS queued for Ama Mensah.", "message_id": body["message_id"]}
    assert httpserver.log == [], "the view does not call the network"
    sms_worker.drain()
    [(request, _)] = httpserver.log
    assert request.headers["api-key"] == ARKESEL_KEY
    assert request.get_json() == {"sender": SENDER, "recipients": ["233241234567"],
                                  "message": "Please pay today.\nYour current arrears are: GHS 120.50"}
    assert stored_sms(sms_app, body["message_id"]) == ("sent", "delivered", 1, ["sms_sent"])


def test_include_arrears_false_sends_the_message_alone_in_sandbox(make_app, operator_headers, customer, httpserver):
    app = make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""),
                   ARKESEL_SANDBOX=True)
    arkesel_accepts(httpserver)
    app.test_client().post("/api/sms/send", headers=operator_headers,
                           json={"customer_id": customer["id"], "message": "Hello", "include_arrears": False})
    Drainer(app).drain()
    [(request, _)] = httpserver.log
    assert request.get_json() == {"sender": SENDER, "recipients": ["233241234567"], "message": "Hello",
                                  "sandbox": True}


def test_a_500_is_retried_and_then_delivered(sms_client, operator_headers, customer, sms_worker, httpserver,
                                             sms_app):
    httpserver.expect_oneshot_request(SEND).respond_with_data("maintenance", status=500)
    arkesel_accepts(httpserver)
    message_id = sms_client.post("/api/sms/send", headers=operator_headers, json={
        "customer_id": customer["id"], "message": "Pay"}).get_json()["message_id"]
    sms_worker.drain()
    assert stored_sms(sms_app, message_id) == ("queued", "pending", 1, [])
    with sms_app.app_context():
        assert outbox.sweep(now=utcnow() + timedelta(seconds=45)) == 1
    sms_worker.drain()
    assert stored_sms(sms_app, message_id) == ("sent", "delivered", 2, ["sms_sent"])
    assert len(httpserver.log) == 2


@pytest.mark.parametrize("status", [403, 402])
def test_a_refused_key_or_empty_balance_is_not_retried(sms_client, operator_headers, customer, sms_worker,
                                                      httpserver, sms_app, status):
    httpserver.expect_request(SEND).respond_with_json({"status": "error", "message": "refused"}, status=status)
    message_id = sms_client.post("/api/sms/send", headers=operator_headers, json={
        "customer_id": customer["id"], "message": "Pay"}).get_json()["message_id"]
    sms_worker.drain()
    assert stored_sms(sms_app, message_id) == ("failed", "dead", 1, [])
    with sms_app.app_context():
        assert outbox.sweep(now=utcnow() + timedelta(days=1)) == 0
    assert len(httpserver.log) == 1


def test_templates_fill_in_name_and_amount(sms_client, operator_headers, customer, sms_worker, httpserver):
    arkesel_accepts(httpserver)
    response = sms_client.put("/api/sms/templates/disconnection", headers=operator_headers,
                              json={"message": "{name}: cut off, owing {amount}. {{Pay}} now."})
    assert response.status_code == 200 and response.get_json()["updated_at"].endswith("Z")
    for template in ("warning", "disconnection"):
        response = sms_client.post(f"/api/sms/send/{template}/{customer['id']}", headers=operator_headers)
        assert response.get_json()["message"] == "SMS queued for Ama Mensah."
    sms_worker.drain()
    messages = sorted(request.get_json()["message"] for request, _ in httpserver.log)
    assert messages == ["Ama Mensah: cut off, owing GHS 120.50. {Pay} now.",
                        "Dear Ama Mensah, your account is in arrears of GHS 120.50. Please pay now to avoid "
                        "disconnection."]
    templates = sms_client.get("/api/sms/templates", headers=operator_headers).get_json()
    assert [(t["action"], t["updated_at"] is None) for t in templates] == [
        ("warning", True), ("disconnection", False), ("connection", True)]


@pytest.mark.parametrize("path, body, status", [
    ("/api/sms/templates/warning", {"message": "Hi {customer}"}, 422),
    ("/api/sms/templates/warning", {"message": "Hi {name"}, 422),
    ("/api/sms/templates/warning", {"message": " \n "}, 422),
    ("/api/sms/templates/reminder", {"message": "Hi"}, 404),
])
def test_bad_templates_are_refused(sms_client, operator_headers, path, body, status):
    assert sms_client.put(path, headers=operator_headers, json=body).status_code == status


def test_bulk_sms_goes_out_in_one_request(sms_client, operator_headers, sms_worker, httpserver, sms_app):
    arkesel_balance(httpserver)
    arkesel_accepts(httpserver, ("233241234567", "233201234567"))
    response = sms_client.post("/api/sms/send-bulk", headers=operator_headers, json={
        "recipients": ["024 123 4567", "+233201234567", "0241234567"], "message": "Water off on Monday"})
    assert response.get_json()["message"] == "SMS queued for 2 recipient(s)."
    sms_worker.drain()
    [request] = sends(httpserver)
    assert request.get_json()["recipients"] == ["233241234567", "233201234567"]
    assert stored_sms(sms_app, response.get_json()["message_id"])[:2] == ("sent", "delivered")


def test_bad_bulk_requests_are_a_422(sms_client, operator_headers):
    response = sms_client.post("/api/sms/send-bulk", headers=operator_headers,
                               json={"recipients": ["0241234567", "555"], "message": "x"})
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"] == ["body", "recipients", 1]
    assert sms_client.post("/api/sms/send-bulk", headers=operator_headers,
                           json={"recipients": [], "message": "x"}).status_code == 422


def test_an_unknown_customer_is_a_404(sms_client, operator_headers):
    for path, body in (("/api/sms/send", {"customer_id": "nobody", "message": "x"}),
                       ("/api/sms/send/warning/nobody", None)):
        response = sms_client.post(path, headers=operator_headers, json=body)
        assert (response.status_code, response.get_json()) == (404, {"detail": "Customer not found"})


def test_without_configuration_sms_is_a_503_and_nothing_is_queued(client, operator_headers, customer, app):
    for path, body in (("/api/sms/send", {"customer_id": customer["id"], "message": "x"}),
                       ("/api/sms/send-bulk", {"recipients": ["0241234567"], "message": "x"}),
                       (f"/api/sms/send/connection/{customer['id']}", None)):
        response = client.post(path, headers=operator_headers, json=body)
        assert (response.status_code, response.get_json()) == (503, {"detail": "SMS service is not configured."})
    with app.app_context():
        assert db.session.scalar(select(OutboxMessage.id)) is None


def test_status_shows_our_state_and_arkesels(sms_client, operator_headers, customer, sms_worker, httpserver):
    arkesel_accepts(httpserver)
    httpserver.expect_request("/api/v2/sms/ark-233241234567", method="GET", headers={"api-key": ARKESEL_KEY}) \
        .respond_with_json({"status": "success", "data": {"status": "DELIVERED", "id": "ark-233241234567"}})
    message_id = sms_client.post("/api/sms/send", headers=operator_headers, json={
        "customer_id": customer["id"], "message": "Pay"}).get_json()["message_id"]
    queued = sms_client.get(f"/api/sms/status/{message_id}", headers=operator_headers).get_json()
    assert (queued["status"], queued["attempts"], queued["provider"], queued["provider_error"]) == (
        "queued", 0, [], None)
    assert (queued["segments"], queued["receipts"]) == (1, {"delivered": 0, "failed": 0, "waiting": 1, "untracked": 0})
    sms_worker.drain()
    sent = sms_client.get(f"/api/sms/status/{message_id}", headers=operator_headers).get_json()
    assert (sent["status"], sent["attempts"], sent["recipients"]) == ("sent", 1, 1)
    assert sent["provider"] == [{"recipient": "233241234567", "id": "ark-233241234567", "status": "DELIVERED"}]


def test_status_says_so_when_arkesel_fails(sms_client, operator_headers, customer, sms_worker, httpserver):
    arkesel_accepts(httpserver)
    httpserver.expect_request("/api/v2/sms/ark-233241234567").respond_with_data("down", status=502)
    message_id = sms_client.post("/api/sms/send", headers=operator_headers, json={
        "customer_id": customer["id"], "message": "Pay"}).get_json()["message_id"]
    sms_worker.drain()
    response = sms_client.get(f"/api/sms/status/{message_id}", headers=operator_headers)
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["provider_error"]) == (
        "sent", "Arkesel answered HTTP 502.")
    assert sms_client.get("/api/sms/status/unknown", headers=operator_headers).status_code == 404


def test_status_names_a_redirect_it_did_not_follow(sms_client, operator_headers, customer, sms_worker, httpserver):
    arkesel_accepts(httpserver)
    httpserver.expect_request("/api/v2/sms/ark-233241234567").respond_with_data(
        "moved", status=301, headers={"Location": "https://user:pw@sms.elsewhere.test/v2/x?key=abc"})
    message_id = sms_client.post("/api/sms/send", headers=operator_headers, json={
        "customer_id": customer["id"], "message": "Pay"}).get_json()["message_id"]
    sms_worker.drain()
    answer = sms_client.get(f"/api/sms/status/{message_id}", headers=operator_headers).get_json()
    assert answer["provider_error"] == ("Arkesel answered HTTP 301, a redirect to https://sms.elsewhere.test/v2/x, "
                                        "not followed.")


def test_an_sms_to_a_deleted_customer_is_still_sent(sms_client, operator_headers, sms_worker, httpserver, sms_app):
    arkesel_accepts(httpserver, ("233201234567",))
    gone = create_customer(sms_client, operator_headers, account_number="GONE", phone="0201234567")
    message_id = sms_client.post(f"/api/sms/send/warning/{gone['id']}", headers=operator_headers).get_json()[
        "message_id"]
    sms_client.delete(f"/api/customers/{gone['id']}", headers=operator_headers)
    sms_worker.drain()
    assert stored_sms(sms_app, message_id) == ("sent", "delivered", 1, [])


def test_a_stored_phone_the_gateway_cannot_take_is_a_422_naming_the_customer(sms_client, operator_headers, sms_app):
    from modules.insight.models import Customer

    with sms_app.app_context():
        for account, phone in (("OLD-1", "12345"), ("OLD-2", "0241234567 x5")):
            db.session.add(Customer(name="Kojo Addo", account_number=account, phone=phone))
        db.session.commit()
        ids = db.session.scalars(select(Customer.id).order_by(Customer.account_number)).all()
    for customer_id in ids:
        for path, body in (("/api/sms/send", {"customer_id": customer_id, "message": "Pay"}),
                           (f"/api/sms/send/warning/{customer_id}", None)):
            response = sms_client.post(path, headers=operator_headers, json=body)
            assert response.status_code == 422
            detail = response.get_json()["detail"]
            assert detail["error_code"] == "INVALID_CUSTOMER_PHONE"
            assert detail["message"].startswith("The phone number of Kojo Addo (account OLD-")
            assert detail["details"]["customer_id"] == customer_id
    with sms_app.app_context():
        assert db.session.scalar(select(SmsMessage.id)) is None and db.session.scalar(select(OutboxMessage.id)) is None


def test_sms_recipients_per_operator_are_limited_per_hour(make_app, operator_headers, customer, httpserver):
    app = make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""),
                   SMS_RECIPIENTS_PER_HOUR="3/hour")
    client = app.test_client()
    bulk = client.post("/api/sms/send-bulk", headers=operator_headers,
                       json={"recipients": ["0241234567", "0201234567"], "message": "Hello"})
    assert bulk.status_code == 200
    assert client.post("/api/sms/send", headers=operator_headers,
                       json={"customer_id": customer["id"], "message": "Pay"}).status_code == 200
    refused = [client.post(f"/api/sms/send/warning/{customer['id']}", headers=operator_headers),
               client.post("/api/sms/send", headers=operator_headers,
                           json={"customer_id": customer["id"], "message": "Pay"}),
               client.post("/api/sms/send-bulk", headers=operator_headers,
                           json={"recipients": ["0551234567"], "message": "Hello"})]
    assert [response.status_code for response in refused] == [429, 429, 429]
    assert all(int(response.headers["Retry-After"]) > 0 and "detail" in response.get_json() for response in refused)
    with app.app_context():
        queued = {(sms.kind, tuple(sms.recipients), sms.outbox_id) for sms in db.session.scalars(select(SmsMessage))}
        outbox_ids = set(db.session.scalars(select(OutboxMessage.id)))
    assert {(kind, recipients) for kind, recipients, _ in queued} == {
        ("bulk", ("233241234567", "233201234567")), ("custom", ("233241234567",))}, "nothing more was queued"
    assert {outbox_id for _, _, outbox_id in queued} == outbox_ids, "one outbox message per SMS accepted"


def test_a_bulk_sms_to_more_recipients_than_the_hourly_limit_is_refused(make_app, operator_headers, httpserver):
    app = make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""),
                   SMS_RECIPIENTS_PER_HOUR="2/hour")
    response = app.test_client().post("/api/sms/send-bulk", headers=operator_headers, json={
        "recipients": ["0241234567", "0201234567", "0551234567"], "message": "Hello"})
    assert response.status_code == 429
    with app.app_context():
        assert db.session.scalar(select(SmsMessage.id)) is None


def test_template_names_and_ids_are_accepted_in_any_case(sms_client, operator_headers, customer, sms_worker,
                                                        httpserver):
    arkesel_accepts(httpserver)
    edited = sms_client.put("/api/sms/templates/Warning", headers=operator_headers,
                            json={"message": "Hello {name}, you owe {amount}."})
    assert (edited.status_code, edited.get_json()["action"]) == (200, "warning")
    upper = customer["id"].upper()
    for path in (f"/api/sms/send/Warning/{upper}", f"/api/sms/send/WARNING/{customer['id'].replace('-', '')}"):
        response = sms_client.post(path, headers=operator_headers)
        assert (response.status_code, response.get_json()["message"]) == (200, "SMS queued for Ama Mensah."), path
    custom = sms_client.post("/api/sms/send", headers=operator_headers, json={"customer_id": upper, "message": "Hi"})
    assert custom.status_code == 200
    status = sms_client.get(f"/api/sms/status/{custom.get_json()['message_id'].upper()}", headers=operator_headers)
    assert (status.status_code, status.get_json()["message_id"]) == (200, custom.get_json()["message_id"])
    sms_worker.drain()
    assert [request.get_json()["message"] for request, _ in httpserver.log][:2] == [
        "Hello Ama Mensah, you owe GHS 120.50."] * 2
    unknown = sms_client.post(f"/api/sms/send/reminder/{customer['id']}", headers=operator_headers)
    assert (unknown.status_code, unknown.get_json()) == (404, {"detail": "Template not found"})


def test_the_template_path_parameter_is_documented_with_its_names(client):
    document = client.get("/openapi.json").get_json()
    for path, name in (("/api/sms/send/{template}/{customer_id}", "template"), ("/api/sms/templates/{action}",
                                                                                "action")):
        [parameter] = [item for item in document["paths"][path]["parameters"] if item["name"] == name]
        assert parameter["schema"] == {"type": "string", "enum": ["warning", "disconnection", "connection"]}
