"""Every Insight endpoint refuses a request without a valid operator token, before reading its body."""

import pytest
from sqlalchemy import select

from modules.core import auth
from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.insight.models import Customer, CustomerAction, ProcessedBatch, SmsMessage, SmsTemplate

UNAUTHORIZED = {"detail": "Invalid authentication credentials"}
SOME_ID = "00000000-0000-0000-0000-000000000000"

ENDPOINTS = [
    ("GET", "/api/customers/"),
    ("POST", "/api/customers/"),
    ("GET", "/api/customers/dashboard/data"),
    ("GET", f"/api/customers/{SOME_ID}"),
    ("PUT", f"/api/customers/{SOME_ID}"),
    ("DELETE", f"/api/customers/{SOME_ID}"),
    ("GET", "/api/actions/"),
    ("POST", "/api/actions/"),
    ("GET", f"/api/actions/customer/{SOME_ID}"),
    ("POST", "/api/actions/batch"),
    ("POST", "/api/sms/send-bulk"),
    ("POST", "/api/sms/send"),
    ("POST", f"/api/sms/send/warning/{SOME_ID}"),
    ("POST", f"/api/sms/send/disconnection/{SOME_ID}"),
    ("POST", f"/api/sms/send/connection/{SOME_ID}"),
    ("GET", "/api/sms/templates"),
    ("PUT", "/api/sms/templates/warning"),
    ("GET", f"/api/sms/status/{SOME_ID}"),
    ("POST", "/api/upload/excel"),
    ("POST", "/api/upload/validate-customers"),
    ("POST", "/api/upload/process-batch"),
]
# SMS delivery receipts come from Arkesel, which holds the signed token of a callback URL instead of an
# operator's (tests/insight/test_sms_receipts.py).
RECEIPT_ENDPOINTS = [("GET", f"/api/sms/receipts/{SOME_ID}"), ("POST", f"/api/sms/receipts/{SOME_ID}")]


def test_the_list_covers_every_insight_endpoint(app):
    served = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint.startswith("insight.")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert len(served) == len(ENDPOINTS) - 2 + len(RECEIPT_ENDPOINTS)  # the three template sends are one rule


def _token_for(app) -> str:
    with app.app_context():
        operator = auth.create_operator("expired@example.com", "correct-horse-battery")
        db.session.commit()
        return auth.issue_access_token(operator)["access_token"]


def _refusals(client, headers):
    """Each endpoint that did not answer the contract's 401 (empty when all did)."""
    wrong = []
    for method, path in ENDPOINTS:
        response = client.open(path, method=method, json={}, headers=headers)
        if (response.status_code, response.get_json()) != (401, UNAUTHORIZED):
            wrong.append((method, path, response.status_code))
    return wrong


def test_no_token_is_a_401_everywhere(client):
    assert _refusals(client, {}) == []
    assert client.get("/api/customers/").headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer {forged}", "Bearer not-a-token", "Basic {token}", "Bearer", "bearer  "])
def test_a_forged_or_malformed_token_is_a_401_everywhere(client, operator_headers, header):
    token = operator_headers["Authorization"].removeprefix("Bearer ")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _refusals(client, {"Authorization": header.format(forged=forged, token=token)}) == []


def test_an_expired_token_is_a_401_everywhere(make_app):
    expiring = make_app(ACCESS_TOKEN_TTL_SECONDS=-1)
    assert _refusals(expiring.test_client(), {"Authorization": f"Bearer {_token_for(expiring)}"}) == []


def test_a_token_signed_with_another_key_is_a_401(make_app, client):
    other = make_app(SECRET_KEY="another-test-secret")
    headers = {"Authorization": f"Bearer {_token_for(other)}"}
    assert client.get("/api/customers/", headers=headers).status_code == 401


def test_a_valid_token_is_let_through(client, operator_headers):
    assert client.get("/api/customers/", headers=operator_headers).status_code == 200


def test_the_front_end_origin_may_call_the_api(make_app, operator_headers):
    client = make_app(ALLOWED_ORIGINS="http://localhost:5173").test_client()
    preflight = client.options("/api/customers/", headers={
        "Origin": "http://localhost:5173", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    response = client.get("/api/customers/", headers={**operator_headers, "Origin": "http://localhost:5173"})
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    other = client.get("/api/customers/", headers={**operator_headers, "Origin": "https://elsewhere.example"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_the_audit_log_names_the_operator_as_every_domain_does(sms_client, operator_headers, sms_app):
    """One actor format across domains (core access.actor()): `operator:<id>`; `performed_by` keeps the name."""
    client, headers = sms_client, operator_headers
    customer = client.post("/api/customers/", headers=headers, json={
        "name": "Ama Mensah", "account_number": "ACC-1", "phone": "0241234567"}).get_json()
    calls = [("PUT", f"/api/customers/{customer['id']}", {"arrears": "5"}),
             ("POST", "/api/actions/", {"customer_id": customer["id"], "action": "warn"}),
             ("POST", "/api/actions/batch", [{"customer_id": customer["id"], "action": "connect"}]),
             ("POST", "/api/upload/process-batch", {"action": "warn", "data": [
                 {"name": "Kofi", "account_number": "ACC-2", "phone": "0201234567", "arrears": "0"}]}),
             ("PUT", "/api/sms/templates/warning", {"message": "Dear {name}, pay {amount}."}),
             ("POST", "/api/sms/send-bulk", {"recipients": ["0241234567"], "message": "Hello"}),
             ("DELETE", f"/api/customers/{customer['id']}", None)]
    for method, path, body in calls:
        assert client.open(path, method=method, headers=headers, json=body).status_code < 300, path
    with sms_app.app_context():
        operator = auth.find_operator("operator@example.com")
        events = db.session.execute(select(AuditEntry.event, AuditEntry.actor).where(AuditEntry.domain == "insight"))
        assert {event: actor for event, actor in events} == dict.fromkeys([
            "customer.created", "customer.updated", "action.warn", "action.batch", "batch.processed",
            "sms.template_updated", "sms.queued", "customer.deleted"], f"operator:{operator.id}")
        names = [select(CustomerAction.performed_by), select(ProcessedBatch.performed_by),
                 select(SmsTemplate.updated_by), select(SmsMessage.performed_by)]
        assert [set(db.session.scalars(query)) for query in names] == [{"Test Operator"}] * 4


def _token_of_role(app, role: str) -> dict:
    with app.app_context():
        operator = auth.create_operator(f"{role}-user@example.com", "correct-horse-battery", role=role)
        db.session.commit()
        return {"Authorization": f"Bearer {auth.issue_access_token(operator)['access_token']}"}


def test_an_agent_is_refused_everywhere_and_nothing_is_stored(app, client):
    """Insight is office work (roles.OPERATOR, and admins): a DTech agent's valid token gets a 403 on every
    endpoint, before its body is read, and nothing is written."""
    headers = _token_of_role(app, "agent")
    wrong = [(method, path, response.status_code, response.get_json()) for method, path in ENDPOINTS
             if (response := client.open(path, method=method, json={}, headers=headers)).status_code != 403
             or response.get_json() != {"detail": "This needs the operator role"}]
    assert wrong == []
    valid = client.post("/api/customers/", headers=headers, json={
        "name": "Ama Mensah", "account_number": "ACC-1", "phone": "0241234567"})
    assert valid.status_code == 403
    with app.app_context():
        assert db.session.scalars(select(Customer)).all() == []


def test_an_operator_of_the_operator_role_is_let_through(app, client):
    headers = _token_of_role(app, "operator")
    assert client.get("/api/customers/", headers=headers).status_code == 200
    created = client.post("/api/customers/", headers=headers, json={
        "name": "Ama Mensah", "account_number": "ACC-1", "phone": "0241234567"})
    assert created.status_code == 201
