"""POST /inbound/leads as the site uses it: auth, validation, 201, duplicates (also concurrent), no PII in logs."""

from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime

import pytest
import requests
from sqlalchemy import func, select

from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxMessage
from modules.core.request_log import JsonFormatter
from modules.fastcore.models import Lead
from tests.support.fastcore import ADMIN, SITE, lead_body

DUPLICATE = "Duplicate request (request_id already processed)"


def lead_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Lead))


def test_a_valid_lead_is_stored_with_its_audit_entry_and_emails(app, client):
    body = lead_body()
    response = client.post("/inbound/leads", json=body, headers=SITE)
    assert response.status_code == 201
    answer = response.get_json()
    assert set(answer) == {"leadId", "timestamp", "status"}
    assert answer["status"] == "received"
    assert uuid.UUID(answer["leadId"]) and datetime.fromisoformat(answer["timestamp"])
    with app.app_context():
        lead = db.session.get(Lead, answer["leadId"])
        assert (lead.name, lead.email, lead.phone, lead.company, lead.service, lead.message, lead.consent) == (
            "Jeanne Test", "jeanne.test@example.com", "+33 6 00 00 00 00", "Garage Test", "compresseurs",
            "Need a quote for two compressors.", True)
        assert lead.meta == {**body["meta"], "timestamp_utc": "2026-11-22T08:00:00+00:00"}
        assert (lead.request_id, lead.status, lead.received_via) == (body["meta"]["request_id"], "received", "direct")
        [entry] = db.session.scalars(select(AuditEntry).where(AuditEntry.subject_id == lead.id)).all()
        assert (entry.domain, entry.event, entry.actor, entry.status_code, entry.request_id) == (
            "fastcore", "lead.received", "key:FASTCORE_SITE_INGEST_TOKEN", 201, lead.request_id)
        kinds = db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.subject_id == lead.id)).all()
        assert sorted(kinds) == ["fastcore.admin_alert", "fastcore.welcome_email"]


@pytest.mark.parametrize("authorization, detail", [
    (None, "Missing Authorization header"),
    ("", "Missing Authorization header"),
    ("Basic dGVzdDp0ZXN0", "Invalid auth scheme (use 'Bearer <token>')"),
    ("Bearer", "Invalid auth scheme (use 'Bearer <token>')"),
    ("test-site-token", "Invalid auth scheme (use 'Bearer <token>')"),
    ("Bearer wrong-token", "Invalid token"),
    ("Bearer test-admin-token", "Invalid token"),
])
def test_auth_failures_answer_401_before_the_body_is_read(app, client, authorization, detail):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.post("/inbound/leads", data="{not json", content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"detail": detail}
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert lead_count(app) == 0


@pytest.mark.parametrize("path", ["name", "email", "message", "consent", "meta", "meta.source", "meta.request_id",
                                  "meta.ip_hash", "meta.timestamp_utc"])
def test_each_missing_required_field_is_a_422_naming_it(app, client, path):
    body = lead_body()
    *parents, leaf = path.split(".")
    (body[parents[0]] if parents else body).pop(leaf)
    response = client.post("/inbound/leads", json=body, headers=SITE)
    assert response.status_code == 422
    assert response.get_json() == {"detail": [{"loc": ["body", *path.split(".")],
                                               "msg": "Missing data for required field.", "type": "missing"}]}
    assert lead_count(app) == 0


@pytest.mark.parametrize("email", ["not-an-email", "jeanne@", "@example.com", "jeanne@@example.com", "a b@example.com"])
def test_a_bad_email_is_a_422(app, client, email):
    response = client.post("/inbound/leads", json=lead_body(email=email), headers=SITE)
    assert response.status_code == 422
    [item] = response.get_json()["detail"]
    assert item["loc"] == ["body", "email"] and item["msg"].startswith("value is not a valid email address")
    assert lead_count(app) == 0


def test_every_bad_field_is_listed(client):
    body = lead_body(name=42, consent="maybe", service="boats", meta_timestamp_utc="yesterday")
    response = client.post("/inbound/leads", json=body, headers=SITE)
    assert response.status_code == 422
    assert sorted(item["loc"][-1] for item in response.get_json()["detail"]) == [
        "consent", "name", "service", "timestamp_utc"]


@pytest.mark.parametrize("data, content_type", [
    ('{"name": ', "application/json"),
    ("[1, 2, 3]", "application/json"),
    ('"a string"', "application/json"),
    ("null", "application/json"),
    ("name=x&email=y", "application/x-www-form-urlencoded"),
    ("", None),
    ("[" * 50000 + "]" * 50000, "application/json"),
])
def test_malformed_bodies_are_422_not_500(app, client, data, content_type):
    response = client.post("/inbound/leads", data=data, content_type=content_type, headers=SITE)
    assert response.status_code == 422
    assert isinstance(response.get_json()["detail"], list)
    assert lead_count(app) == 0


@pytest.mark.parametrize("overrides", [
    {"name": "x" * 201},
    {"message": "m" * 10001},
    {"name": ""},
    {"name": "Jeanne\x00"},
    {"message": "broken \ud800 surrogate"},
    {"phone": ["+33"]},
    {"meta": "contact-page"},
    {"meta": [1]},
    {"meta_request_id": 12345},
    {"meta_ip_hash": "h" * 129},
    {"meta_timestamp_utc": "99999-01-01T00:00:00"},
    {"consent": None},
])
def test_wrong_types_and_sizes_are_422_with_nothing_stored(app, client, overrides):
    response = client.post("/inbound/leads", json=lead_body(**overrides), headers=SITE)
    assert response.status_code == 422, response.get_json()
    assert lead_count(app) == 0


def test_unicode_optional_blanks_and_unknown_fields_are_accepted(app, client):
    body = lead_body(name="Zoë Ñúñez 山田", phone="", company="  ", service=None, website="honeypot",
                     meta_user_agent_hash=None, meta_extra="ignored")
    response = client.post("/inbound/leads", json=body, headers=SITE)
    assert response.status_code == 201
    with app.app_context():
        lead = db.session.get(Lead, response.get_json()["leadId"])
        assert (lead.name, lead.phone, lead.company, lead.service) == ("Zoë Ñúñez 山田", None, None, None)
        assert "extra" not in lead.meta


def test_null_in_every_optional_field_means_not_given(app, client):
    body = lead_body(phone=None, company=None, service=None, meta_user_agent_hash=None)
    response = client.post("/inbound/leads", json=body, headers=SITE)
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        lead = db.session.get(Lead, response.get_json()["leadId"])
        assert (lead.phone, lead.company, lead.service, lead.meta["user_agent_hash"]) == (None, None, None, None)


REQUIRED = ["name", "email", "message", "consent", "meta", "meta.source", "meta.request_id", "meta.ip_hash",
            "meta.timestamp_utc"]


@pytest.mark.parametrize("path", REQUIRED)
def test_null_in_a_required_field_is_a_422_naming_it(app, client, path):
    body = lead_body()
    *parents, leaf = path.split(".")
    (body[parents[0]] if parents else body)[leaf] = None
    response = client.post("/inbound/leads", json=body, headers=SITE)
    assert response.status_code == 422
    assert response.get_json() == {"detail": [{"loc": ["body", *path.split(".")], "msg": "Field may not be null.",
                                               "type": "value_error"}]}
    assert lead_count(app) == 0


@pytest.mark.parametrize("stamp, stored", [
    ("2026-11-22T10:00:00+02:00", "2026-11-22T08:00:00+00:00"),
    ("2026-11-22T03:00:00-05:00", "2026-11-22T08:00:00+00:00"),
    ("2026-11-22T08:00:00", "2026-11-22T08:00:00+00:00"),
    ("2026-11-22T08:00:00.250Z", "2026-11-22T08:00:00.250000+00:00"),
], ids=["ahead", "behind", "naive", "fraction"])
def test_timestamp_utc_is_kept_in_utc(app, client, stamp, stored):
    response = client.post("/inbound/leads", json=lead_body(meta_timestamp_utc=stamp), headers=SITE)
    assert response.status_code == 201
    with app.app_context():
        assert db.session.get(Lead, response.get_json()["leadId"]).meta["timestamp_utc"] == stored


@pytest.mark.parametrize("stamp, message", [
    ("0001-01-01T00:00:00+01:00", "Date out of range."),
    ("9999-12-31T23:59:59-01:00", "Date out of range."),
    ("0000-01-01T00:00:00Z", "Not a valid datetime."),
    ("10000-01-01T00:00:00Z", "Not a valid datetime."),
    ("2026-11-22T08:00:00+24:00", "Not a valid datetime."),
    ("2026-02-30T08:00:00Z", "Not a valid datetime."),
    (1764000000, "Not a valid datetime."),
], ids=["year-1-ahead", "year-9999-behind", "year-0", "year-10000", "offset-24h", "february-30", "epoch-number"])
def test_a_timestamp_without_a_utc_equivalent_is_a_422(app, client, stamp, message):
    response = client.post("/inbound/leads", json=lead_body(meta_timestamp_utc=stamp), headers=SITE)
    assert response.status_code == 422
    assert response.get_json() == {"detail": [{"loc": ["body", "meta", "timestamp_utc"], "msg": message,
                                               "type": "value_error"}]}
    assert lead_count(app) == 0


@pytest.mark.parametrize("request_id", ["order-42", "", "f" * 101])
def test_a_request_id_that_is_not_a_uuid_is_a_400(app, client, request_id):
    response = client.post("/inbound/leads", json=lead_body(meta_request_id=request_id), headers=SITE)
    assert response.status_code == 400
    assert response.get_json() == {"detail": "Validation error: badly formed hexadecimal UUID string"}
    assert lead_count(app) == 0


def test_a_second_post_with_the_same_request_id_is_refused_and_audited(app, client):
    body = lead_body()
    first = client.post("/inbound/leads", json=body, headers=SITE).get_json()
    again = lead_body(name="Someone Else", meta_request_id=body["meta"]["request_id"].upper().replace("-", ""))
    response = client.post("/inbound/leads", json=again, headers=SITE)
    assert response.status_code == 400
    assert response.get_json() == {"detail": DUPLICATE, "leadId": first["leadId"]}
    assert lead_count(app) == 1
    with app.app_context():
        events = db.session.scalars(select(AuditEntry.event).where(AuditEntry.subject_id == first["leadId"])
                                    .order_by(AuditEntry.id)).all()
    assert events == ["lead.received", "lead.duplicate_refused"]


def test_two_concurrent_posts_with_one_request_id_store_one_lead(app, live_server):
    body = lead_body()
    barrier = threading.Barrier(2)
    answers = []

    def post():
        barrier.wait()
        answers.append(requests.post(f"{live_server}/inbound/leads", json=body, headers=SITE, timeout=30))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [201, 400]
    created = next(answer for answer in answers if answer.status_code == 201).json()
    refused = next(answer for answer in answers if answer.status_code == 400).json()
    assert refused == {"detail": DUPLICATE, "leadId": created["leadId"]}
    assert lead_count(app) == 1


def test_no_personal_data_reaches_the_logs(app, client, worker, database_down_app, all_down_app, caplog):
    caplog.set_level(logging.DEBUG)
    pii = {"name": "Zelda Secretname", "email": "zelda.secret@example.org", "phone": "+33 7 99 88 77 66",
           "message": "My private message text"}
    body = lead_body(**pii)
    assert client.post("/inbound/leads", json=body, headers=SITE).status_code == 201
    assert client.post("/inbound/leads", json=body, headers=SITE).status_code == 400
    assert client.get("/admin/leads", headers=ADMIN).status_code == 200
    for down_app in (database_down_app, all_down_app):
        response = down_app.test_client().post("/inbound/leads", json=lead_body(**pii), headers=SITE)
        assert response.status_code == 202
    assert client.post("/admin/queue/flush", headers=ADMIN).get_json()["flushed"] == 2
    worker.drain()
    ours = [record for record in caplog.records if not record.name.startswith("mail.")]  # not the test SMTP peer
    logged = "\n".join(JsonFormatter().format(record) for record in ours)
    assert "request" in logged and "lead queued" in logged, "the access and fallback logs were captured"
    for secret in ("Zelda", "Secretname", "zelda.secret", "99 88 77", "private message", "test-site-token"):
        assert secret not in logged


def test_a_site_over_its_rate_limit_gets_429(make_app, fastcore_settings):
    client = make_app(**fastcore_settings, INGEST_RATE_LIMIT="2/minute").test_client()
    codes = [client.post("/inbound/leads", json=lead_body(), headers=SITE).status_code for _ in range(3)]
    assert codes == [201, 201, 429]


def test_extra_headers_or_another_address_give_the_site_no_fresh_bucket(make_app, fastcore_settings):
    """The limit counts the token that authenticated, not the headers or the address that came with it."""
    client = make_app(**fastcore_settings, INGEST_RATE_LIMIT="2/minute").test_client()
    assert client.post("/inbound/leads", json=lead_body(), headers=SITE).status_code == 201
    disguises = [
        ({"Authorization": "bearer test-site-token", "X-API-Key": "random-1", "X-INGEST-KEY": "random-2"},
         "198.51.100.7"),
        ({**SITE, "X-API-Key": "random-3", "X-Forwarded-For": "203.0.113.9"}, "198.51.100.8"),
    ]
    codes = [client.post("/inbound/leads", json=lead_body(), headers=headers,
                         environ_base={"REMOTE_ADDR": address}).status_code for headers, address in disguises]
    assert codes == [201, 429]


def stored_lead(app, response) -> Lead:
    assert response.status_code == 201, response.get_json()
    with app.app_context():
        return db.session.get(Lead, response.get_json()["leadId"])


@pytest.mark.parametrize("sent, stored", [
    ("PONTS", "ponts"), ("Compresseurs", "compresseurs"), ("cAbInEs", "cabines"), (" Diagnostic ", "diagnostic"),
    ("autre", "autre"),
])
def test_a_service_in_any_case_is_stored_in_its_canonical_spelling(app, client, sent, stored):
    assert stored_lead(app, client.post("/inbound/leads", json=lead_body(service=sent), headers=SITE)).service == stored


SERVICE_CHOICES = "Must be one of: ponts, cabines, compresseurs, diagnostic, autre."


@pytest.mark.parametrize("service, message", [
    *[(text, SERVICE_CHOICES) for text in ("boats", "pont", "PONTS!", "ponts autre", "ſervice", "ＰＯＮＴＳ", "")],
    (7, "Not a valid string."),
])
def test_a_service_that_is_none_of_the_choices_is_still_a_422(app, client, service, message):
    response = client.post("/inbound/leads", json=lead_body(service=service), headers=SITE)
    assert response.status_code == 422
    assert response.get_json() == {"detail": [{"loc": ["body", "service"], "msg": message, "type": "value_error"}]}
    assert lead_count(app) == 0


def test_name_and_message_are_stored_trimmed(app, client):
    response = client.post("/inbound/leads", json=lead_body(name="  Jeanne Test \t", message="\n  Need a quote.  \n"),
                           headers=SITE)
    lead = stored_lead(app, response)
    assert (lead.name, lead.message) == ("Jeanne Test", "Need a quote.")


@pytest.mark.parametrize("blank", ["", "   ", "\t\n \r\n", "\u00a0\u2003\u3000"], ids=["empty", "spaces", "newlines",
                                                                                    "unicode-spaces"])
def test_a_blank_name_or_message_is_a_422_naming_each(app, client, blank):
    response = client.post("/inbound/leads", json=lead_body(name=blank, message=blank), headers=SITE)
    assert response.status_code == 422
    assert sorted(response.get_json()["detail"], key=lambda item: item["loc"]) == [
        {"loc": ["body", "message"], "msg": "Must not be blank.", "type": "value_error"},
        {"loc": ["body", "name"], "msg": "Must not be blank.", "type": "value_error"}]
    assert lead_count(app) == 0


def test_the_length_limits_count_the_trimmed_text(app, client):
    lead = stored_lead(app, client.post("/inbound/leads", json=lead_body(name=f"  {'n' * 200}  "), headers=SITE))
    assert lead.name == "n" * 200
    response = client.post("/inbound/leads", json=lead_body(name="n" * 201), headers=SITE)
    assert response.get_json() == {"detail": [{"loc": ["body", "name"], "msg": "Longer than maximum length 200.",
                                               "type": "value_error"}]}


# What pydantic's lax mode (the original service) read as a boolean: JSON booleans, 0/1 (and 0.0/1.0), and
# the words below in any ASCII case; HTML forms send "on", some form libraries "True" or "YES".
CONSENT_WORDS = {True: ["true", "True", "TRUE", "tRuE", "t", "T", "yes", "Yes", "YES", "y", "on", "On", "ON", "oN",
                        "1", 1, 1.0, True],
                 False: ["false", "False", "FALSE", "fAlSe", "f", "no", "No", "NO", "n", "N", "off", "Off", "OFF",
                         "oFf", "0", 0, 0.0, False]}


@pytest.mark.parametrize("consent, meaning", [(value, meaning) for meaning, values in CONSENT_WORDS.items()
                                              for value in values])
def test_consent_is_read_as_the_original_read_a_boolean(app, client, consent, meaning):
    lead = stored_lead(app, client.post("/inbound/leads", json=lead_body(consent=consent), headers=SITE))
    assert lead.consent is meaning
    with app.app_context():
        kinds = db.session.scalars(select(OutboxMessage.kind).where(OutboxMessage.subject_id == lead.id)).all()
    assert ("fastcore.welcome_email" in kinds) is meaning, "the welcome e-mail follows the consent read"


@pytest.mark.parametrize("consent", ["maybe", "2", 2, -1, 0.5, "", " true", "true ", "yes please", "ｙｅｓ", "İ",
                                     [True], {"value": True}])
def test_consent_that_is_no_boolean_word_is_a_422(app, client, consent):
    response = client.post("/inbound/leads", json=lead_body(consent=consent), headers=SITE)
    assert response.status_code == 422
    assert response.get_json() == {"detail": [{"loc": ["body", "consent"], "msg": "Not a valid boolean.",
                                               "type": "value_error"}]}
    assert lead_count(app) == 0
