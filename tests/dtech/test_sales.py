"""Start, continue, status and stop: signed calls to DTech, its answers relayed, local records following."""

import time

import pytest
from sqlalchemy import select
from werkzeug import Response

from modules.core import auth
from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.dtech.models import SalesProcess
from tests.support.dtech import ACCOUNT_ID, OTHER_ACCOUNT_ID, RECORDING_BODY, START_BODY, USER, dtech_settings
from tests.support.dtech_partner import ACCESS_KEY, SALES_PROCESS_ID, SECRET_KEY

START_ANSWER = {"sales_process_id": SALES_PROCESS_ID, "url": "https://dtech.test/s/1001",
                "url_expiry": "2026-11-22T09:00:00Z"}


def stored_process(app, sales_process_id=SALES_PROCESS_ID):
    with app.app_context():
        process = db.session.scalar(select(SalesProcess).where(SalesProcess.sales_process_id == sales_process_id))
        if process is not None:
            db.session.expunge(process)
        return process


def process_count(app):
    with app.app_context():
        return len(db.session.scalars(select(SalesProcess)).all())


def start(client, headers, partner, body=START_BODY):
    partner.answer_start()
    return client.post("/api/v1/sales/start", json=body, headers=headers)


def test_start_sends_a_signed_request_and_keeps_the_process(app, client, operator_headers, partner):
    response = start(client, operator_headers, partner)
    assert response.status_code == 200
    assert response.get_json() == START_ANSWER
    [call] = partner.received
    assert call.signature_problem is None
    assert (call.method, call.path) == ("POST", "/ext/start")
    assert call.json() == START_BODY
    process = stored_process(app)
    assert (process.status, process.agent_id, process.lead_name, process.lead_phone, process.account_id) == (
        "in_progress", "agent-17", "Thandi Mokoena", "(083) 555-0142", ACCOUNT_ID)
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.event == "sales.started"))
        assert (entry.domain, entry.subject_id) == ("dtech", SALES_PROCESS_ID)
        assert entry.details == {"account_id": ACCOUNT_ID}


def test_start_without_account_id_uses_the_configured_one(client, operator_headers, partner):
    body = {key: value for key, value in START_BODY.items() if key != "account_id"}
    assert start(client, operator_headers, partner, body).status_code == 200
    assert partner.received[0].json()["account_id"] == ACCOUNT_ID


@pytest.mark.parametrize("body", [
    {"account_id": OTHER_ACCOUNT_ID, "user": USER},
    {"request": {"account_id": OTHER_ACCOUNT_ID}, "user": USER},
], ids=["flat", "nested-request"])
def test_continue_accepts_both_body_forms(app, client, operator_headers, partner, body):
    partner.answer("POST", f"/ext/continue/{SALES_PROCESS_ID}", {"url": "https://dtech.test/s/1001?again=1",
                                                                 "url_expiry": "2026-11-22T10:00:00Z"})
    response = client.post(f"/api/v1/sales/continue/{SALES_PROCESS_ID}", json=body, headers=operator_headers)
    assert response.status_code == 200
    assert response.get_json() == {"url": "https://dtech.test/s/1001?again=1", "url_expiry": "2026-11-22T10:00:00Z"}
    [call] = partner.received
    assert call.signature_problem is None
    assert call.json() == {"account_id": OTHER_ACCOUNT_ID, "user": USER}
    process = stored_process(app)
    assert (process.status, process.agent_id, process.account_id, process.url_expiry) == (
        "in_progress", "agent-17", OTHER_ACCOUNT_ID, "2026-11-22T10:00:00Z")


def test_status_relays_the_partners_answer_and_updates_the_record(app, client, operator_headers, partner):
    start(client, operator_headers, partner)
    answer = {"sales_process_id": SALES_PROCESS_ID, "status": "COMPLETED", "policy_number": "POL-77"}
    partner.answer("GET", f"/ext/status/{SALES_PROCESS_ID}/{ACCOUNT_ID}", answer)
    response = client.get(f"/api/v1/sales/status/{SALES_PROCESS_ID}/{ACCOUNT_ID}", headers=operator_headers)
    assert (response.status_code, response.get_json()) == (200, answer)
    assert partner.received[-1].signature_problem is None
    assert partner.received[-1].body == b""
    process = stored_process(app)
    assert (process.status, process.partner_status) == ("complete", "COMPLETED")


@pytest.mark.parametrize("where", ["body", "query"])
def test_stop_takes_the_reason_from_the_body_or_the_query(app, client, operator_headers, partner, where):
    start(client, operator_headers, partner)
    partner.answer("POST", f"/ext/stop/{SALES_PROCESS_ID}", {"success": True})
    body, query = ({"account_id": ACCOUNT_ID, "reason": "lead declined"}, "") if where == "body" else (
        {"account_id": ACCOUNT_ID}, "?reason=lead%20declined")
    response = client.post(f"/api/v1/sales/stop/{SALES_PROCESS_ID}{query}", json=body, headers=operator_headers)
    assert (response.status_code, response.get_json()) == (200, {"success": True})
    call = partner.received[-1]
    assert call.signature_problem is None
    assert call.json() == {"account_id": ACCOUNT_ID, "reason": "lead declined"}
    process = stored_process(app)
    assert (process.status, process.stop_reason) == ("stopped", "lead declined")


def test_stop_with_only_a_query_string_and_no_body(client, operator_headers, partner):
    partner.answer("POST", f"/ext/stop/{SALES_PROCESS_ID}", {"success": True})
    response = client.post(f"/api/v1/sales/stop/{SALES_PROCESS_ID}?reason=duplicate", headers=operator_headers)
    assert response.status_code == 200
    assert partner.received[-1].json() == {"account_id": ACCOUNT_ID, "reason": "duplicate"}


def test_stop_without_a_reason_is_refused_before_the_partner_is_called(app, client, operator_headers, partner):
    response = client.post(f"/api/v1/sales/stop/{SALES_PROCESS_ID}", json={"account_id": ACCOUNT_ID},
                           headers=operator_headers)
    assert response.status_code == 400
    assert response.get_json()["code"] == "VALIDATION_ERROR"
    assert "reason" in response.get_json()["detail"]
    assert partner.received == [] and process_count(app) == 0


def test_a_wrong_secret_is_refused_by_the_partner_and_answered_502(make_app, operator_headers, partner,
                                                                     recordings_dir):
    app = make_app(**dtech_settings(partner, recordings_dir, AWS_SECRET_ACCESS_KEY="test-wrong-secret"))
    response = start(app.test_client(), operator_headers, partner)
    assert response.status_code == 502
    assert response.get_json() == {
        "code": "PARTNER_AUTH_FAILED",
        "detail": "DTech answered HTTP 403: The request signature we calculated does not match the signature "
                  "you provided."}
    assert partner.received[0].signature_problem == "signature mismatch"
    assert process_count(app) == 0


def test_keys_are_also_read_from_the_alias_settings(make_app, operator_headers, partner, recordings_dir):
    app = make_app(**dtech_settings(partner, recordings_dir, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="",
                                    AWS_ACCESS_KEY=ACCESS_KEY, AWS_SECRET_KEY=SECRET_KEY))
    assert start(app.test_client(), operator_headers, partner).status_code == 200
    assert partner.received[0].signature_problem is None


def test_a_partner_refusal_is_a_502_with_the_partners_message(app, client, operator_headers, partner):
    partner.answer("POST", "/ext/start", {"message": "Campaign FUNERAL-2026 is closed"}, status=422)
    response = client.post("/api/v1/sales/start", json=START_BODY, headers=operator_headers)
    assert response.status_code == 502
    assert response.get_json() == {"code": "PARTNER_ERROR",
                                   "detail": "DTech answered HTTP 422: Campaign FUNERAL-2026 is closed"}
    assert process_count(app) == 0


@pytest.mark.parametrize(("body", "status"), [({"message": "m" * 5000}, 422), ("t" * 5000, 500),
                                              ({"detail": [{"msg": "d" * 5000}]}, 400)], ids=["json", "text", "list"])
def test_a_partners_long_message_is_cut_to_300_characters(client, operator_headers, partner, body, status):
    partner.answer("POST", "/ext/start", body, status=status)
    response = client.post("/api/v1/sales/start", json=START_BODY, headers=operator_headers)
    assert response.status_code == 502
    detail = response.get_json()["detail"]
    prefix = f"DTech answered HTTP {status}: "
    assert detail.startswith(prefix) and len(detail) == len(prefix) + 300


@pytest.mark.parametrize("answer", [
    {"url": "https://dtech.test/s/1"}, ["not", "an", "object"],
    {"sales_process_id": "SP-1", "url": "javascript:alert(document.cookie)"},
    {"sales_process_id": "SP-1", "url": "/s/1"}, {"sales_process_id": "SP-1", "url": "https://"},
], ids=["no-sales-process-id", "array", "javascript-url", "relative-url", "no-host"])
def test_an_unusable_partner_answer_is_a_502(app, client, operator_headers, partner, answer):
    partner.answer("POST", "/ext/start", answer)
    response = client.post("/api/v1/sales/start", json=START_BODY, headers=operator_headers)
    assert response.status_code == 502
    assert response.get_json()["code"] == "PARTNER_ERROR"
    assert process_count(app) == 0


def test_a_partner_timeout_is_a_504(make_app, operator_headers, partner, recordings_dir, httpserver):
    def slow(_request):
        time.sleep(1.5)
        return Response("{}", content_type="application/json")

    httpserver.expect_request("/ext/start").respond_with_handler(slow)
    app = make_app(**dtech_settings(partner, recordings_dir, DTECH_TIMEOUT_SECONDS=1))
    response = app.test_client().post("/api/v1/sales/start", json=START_BODY, headers=operator_headers)
    assert response.status_code == 504
    assert response.get_json() == {"code": "PARTNER_TIMEOUT", "detail": "DTech did not answer in time; try again"}
    assert process_count(app) == 0


def test_an_unreachable_partner_is_a_502(make_app, operator_headers, partner, recordings_dir):
    app = make_app(**dtech_settings(partner, recordings_dir, DIFFERENT_API_BASE="http://127.0.0.1:1"))
    response = app.test_client().post("/api/v1/sales/start", json=START_BODY, headers=operator_headers)
    assert response.status_code == 502
    assert response.get_json()["code"] == "PARTNER_UNREACHABLE"


def test_an_unconfigured_partner_is_a_502_that_says_what_to_set(make_app, operator_headers, partner, recordings_dir):
    app = make_app(**dtech_settings(partner, recordings_dir, AWS_SECRET_ACCESS_KEY=""))
    response = app.test_client().post("/api/v1/sales/start", json=START_BODY, headers=operator_headers)
    assert response.status_code == 502
    assert response.get_json()["code"] == "PARTNER_NOT_CONFIGURED"
    assert "AWS_SECRET_ACCESS_KEY" in response.get_json()["detail"]
    assert partner.received == []


@pytest.mark.parametrize(("answer", "relayed"), [("", {}), ('"stopped"', "stopped"), ("[1, 2]", [1, 2])],
                         ids=["no-content", "bare-string", "array"])
def test_stop_relays_any_json_answer_as_json(client, operator_headers, partner, httpserver, answer, relayed):
    httpserver.expect_request(f"/ext/stop/{SALES_PROCESS_ID}").respond_with_data(
        answer, status=204 if not answer else 200, content_type="application/json")
    response = client.post(f"/api/v1/sales/stop/{SALES_PROCESS_ID}?reason=duplicate", headers=operator_headers)
    assert (response.status_code, response.mimetype, response.get_json()) == (200, "application/json", relayed)


def test_continue_without_any_account_id_uses_the_configured_one(client, operator_headers, partner):
    partner.answer("POST", f"/ext/continue/{SALES_PROCESS_ID}", {"url": "https://dtech.test/s/1", "url_expiry": 60})
    response = client.post(f"/api/v1/sales/continue/{SALES_PROCESS_ID}", json={"request": {}, "user": USER},
                           headers=operator_headers)
    assert (response.status_code, response.get_json()) == (200, {"url": "https://dtech.test/s/1", "url_expiry": 60})
    assert partner.received[0].json() == {"account_id": ACCOUNT_ID, "user": USER}


PARTNER_CALLS = [  # every synchronous call to DTech: (method, path, body)
    ("POST", "/api/v1/sales/start", START_BODY),
    ("POST", f"/api/v1/sales/continue/{SALES_PROCESS_ID}", {"account_id": ACCOUNT_ID, "user": USER}),
    ("GET", f"/api/v1/sales/status/{SALES_PROCESS_ID}/{ACCOUNT_ID}", None),
    ("POST", f"/api/v1/sales/stop/{SALES_PROCESS_ID}", {"account_id": ACCOUNT_ID, "reason": "duplicate"}),
    ("POST", f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}", RECORDING_BODY),
]


def answer_every_call(partner):
    partner.answer_start()
    partner.answer("POST", f"/ext/continue/{SALES_PROCESS_ID}", {"url": "https://dtech.test/s/1"})
    partner.answer("GET", f"/ext/status/{SALES_PROCESS_ID}/{ACCOUNT_ID}", {"status": "IN_PROGRESS"})
    partner.answer("POST", f"/ext/stop/{SALES_PROCESS_ID}", {"success": True})
    partner.answer_recording_url()


def call(client, headers, method, path, body):
    return client.open(path, method=method, json=body, headers=headers)


def login(client, email="operator@example.com", password="correct-horse-battery"):
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def limited_app(make_app, partner, recordings_dir, limit):
    return make_app(**dtech_settings(partner, recordings_dir, DTECH_PARTNER_CALL_RATE_LIMIT=limit))


def test_every_partner_call_counts_against_one_limit_per_operator(make_app, partner, recordings_dir,
                                                                  operator_headers):
    app = limited_app(make_app, partner, recordings_dir, "5/minute")
    client = app.test_client()
    answer_every_call(partner)
    assert [call(client, operator_headers, *request).status_code for request in PARTNER_CALLS] == [200] * 5
    for request in PARTNER_CALLS:
        refused = call(client, operator_headers, *request)
        assert refused.status_code == 429, request[1]
        assert refused.get_json() == {"code": "RATE_LIMITED",
                                      "detail": "5 per 1 minute (DTECH_PARTNER_CALL_RATE_LIMIT)"}
        assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert len(partner.received) == 5, "DTech is not called over the limit"

    with app.app_context():
        auth.create_operator("second@example.com", "another-long-password", role="agent")
        db.session.commit()
    other = login(client, "second@example.com", "another-long-password")
    assert call(client, other, *PARTNER_CALLS[0]).status_code == 200, "each operator has a limit of their own"


def test_a_refused_body_costs_no_partner_call(make_app, partner, recordings_dir, operator_headers):
    client = limited_app(make_app, partner, recordings_dir, "1/minute").test_client()
    partner.answer_start()
    for _ in range(3):
        assert client.post("/api/v1/sales/start", json={"user": USER}, headers=operator_headers).status_code == 400
    assert client.post("/api/v1/sales/start", json=START_BODY, headers=operator_headers).status_code == 200


def test_a_new_login_or_extra_headers_give_no_fresh_bucket(make_app, partner, recordings_dir, operator_headers):
    """The limit counts the operator who authenticated, not what the client sends along."""
    client = limited_app(make_app, partner, recordings_dir, "2/minute").test_client()
    partner.answer_start()
    assert client.post("/api/v1/sales/start", json=START_BODY, headers=operator_headers).status_code == 200
    time.sleep(1.05)  # a token names the second it was issued: the next login gives a different one
    fresh = login(client)
    assert fresh != operator_headers
    extras = {"X-API-Key": "random-1", "X-INGEST-KEY": "random-2", "X-Forwarded-For": "203.0.113.9"}
    answers = [client.post("/api/v1/sales/start", json=START_BODY, headers={**fresh, **extras},
                           environ_base={"REMOTE_ADDR": address}).status_code
               for address in ("198.51.100.7", "198.51.100.8")]
    assert answers == [200, 429]
    assert len(partner.received) == 2


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_partner_redirect_is_not_followed_and_names_where_it_pointed(app, client, operator_headers, partner,
                                                                        status):
    """A 3xx is not followed (a 307 would resend the signed body elsewhere): a 502 that names the status
    and the Location without its user name, password or query, never the redirect's own body."""
    partner.answer("POST", "/ext/start", "<html>moved: internal-only body</html>", status=status,
                   headers={"Location": "https://user:secret@elsewhere.test:8443/ext/start?token=abc"})
    response = start(client, operator_headers, partner)
    assert response.status_code == 502
    detail = response.get_json()["detail"]
    assert detail == (f"DTech answered HTTP {status}: redirect to https://elsewhere.test:8443/ext/start not "
                      "followed; check DIFFERENT_API_BASE")
    assert process_count(app) == 0
