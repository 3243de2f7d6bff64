"""Bad input is a 400 naming the field, in DTech's {"detail", "code"} shape; nothing is sent or stored."""

import pytest
from sqlalchemy import func, select

from modules.core.extensions import db
from modules.dtech.models import CallRecording, SalesProcess
from tests.support.dtech import ACCOUNT_ID, LEAD, OTHER_ACCOUNT_ID, RECORDING_BODY, START_BODY, USER
from tests.support.dtech_partner import SALES_PROCESS_ID

START = "/api/v1/sales/start"
RECORDING_URL = f"/api/v1/sales/recording-url/{SALES_PROCESS_ID}"
CONTINUE = f"/api/v1/sales/continue/{SALES_PROCESS_ID}"


def with_lead(**changes):
    return {**START_BODY, "lead": {**LEAD, **changes}}


def recording(**changes):
    return {**RECORDING_BODY, **changes}


def nothing_happened(app, partner):
    with app.app_context():
        rows = sum(db.session.scalar(select(func.count()).select_from(model)) for model in (SalesProcess,
                                                                                            CallRecording))
    return rows == 0 and partner.received == []


@pytest.mark.parametrize(("path", "body", "detail"), [
    (START, with_lead(phone_mobile="083 555 0142"),
     "Invalid request: lead.phone_mobile: Phone numbers look like (083) 555-5555."),
    (START, {**START_BODY, "account_id": "not-a-uuid"}, "Invalid request: account_id: Not a valid UUID."),
    (RECORDING_URL, recording(date_start="2026-11-22T09:00:00Z", date_end="2026-11-22T08:00:00Z"),
     "Invalid request: date_end: Must be after date_start."),
    (RECORDING_URL, recording(date_start="0001-01-01T00:00:00+01:00"),
     "Invalid request: date_start: Date out of range."),
    (RECORDING_URL, recording(content_type="audio/ogg"),
     "Invalid request: content_type: Must be one of: audio/wav, audio/mpeg."),
    (RECORDING_URL, recording(content_type="audio/wav; codecs=1"),
     "Invalid request: content_type: Must be one of: audio/wav, audio/mpeg."),
    (RECORDING_URL, recording(content_type="ＡＵＤＩＯ/wav"),
     "Invalid request: content_type: Must be one of: audio/wav, audio/mpeg."),
    (RECORDING_URL, recording(filename="a" * 201), "Invalid request: filename: Length must be between 1 and 200."),
    (RECORDING_URL, recording(recording_hash="abc"),
     "Invalid request: recording_hash: Give the file's MD5 as 32 hexadecimal characters."),
    (RECORDING_URL, recording(date_start="yesterday"), "Invalid request: date_start: Not a valid datetime."),
    (CONTINUE, {"request": {"account_id": "nope"}, "user": USER}, "Invalid request: account_id: Not a valid UUID."),
    (START, with_lead(first_name="Zo\x00e"),
     "Invalid request: lead.first_name: Must not contain NUL (0x00) characters."),
    (RECORDING_URL, recording(date_start="0000-01-01T00:00:00Z"), "Invalid request: date_start: Not a valid datetime."),
    (RECORDING_URL, recording(date_end="10000-01-01T00:00:00Z"), "Invalid request: date_end: Not a valid datetime."),
    (RECORDING_URL, recording(date_end="9999-12-31T23:59:59-01:00"), "Invalid request: date_end: Date out of range."),
    (RECORDING_URL, recording(date_start="2026-11-22T08:00:00+24:00"),
     "Invalid request: date_start: Not a valid datetime."),
    (RECORDING_URL, recording(date_start="2026-11-22T08:00:00", date_end="2026-11-22T09:00:00+01:00"),
     "Invalid request: date_end: Must be after date_start."),
], ids=["phone", "uuid", "date-order", "date-range", "content-type", "content-type-params",
        "content-type-fullwidth", "filename-201", "hash", "date-format",
        "continue-nested", "nul", "year-0", "year-10000", "year-9999-behind", "offset-24h", "naive-vs-aware"])
def test_invalid_fields_are_named(app, client, operator_headers, partner, path, body, detail):
    response = client.post(path, json=body, headers=operator_headers)
    assert response.status_code == 400
    assert response.get_json() == {"detail": detail, "code": "VALIDATION_ERROR"}
    assert nothing_happened(app, partner)


def test_null_in_every_optional_field_means_not_given(client, operator_headers, partner):
    """DTech's guide builds bodies with pydantic's .dict(): unset fields arrive as null."""
    partner.answer_start()
    partner.answer("POST", f"/ext/continue/{SALES_PROCESS_ID}", {"url": "https://dtech.test/s/1"})
    partner.answer("POST", f"/ext/stop/{SALES_PROCESS_ID}", {"success": True})
    partner.answer_recording_url()
    lead = {**LEAD, "external_reference": None, "phone_work": None, "email": None, "id_number": None}
    posts = [
        (START, {"account_id": None, "user": USER, "lead": lead}),
        (CONTINUE, {"account_id": None, "request": {"account_id": OTHER_ACCOUNT_ID}, "user": USER}),
        (CONTINUE, {"account_id": None, "request": None, "user": USER}),
        (f"/api/v1/sales/stop/{SALES_PROCESS_ID}?reason=duplicate", {"account_id": None, "reason": None}),
        (RECORDING_URL, recording(account_id=None, external_ref=None)),
    ]
    for path, body in posts:
        response = client.post(path, json=body, headers=operator_headers)
        assert response.status_code == 200, (path, response.get_json())
    sent = [call.json() for call in partner.received]
    assert sent[0] == {"account_id": ACCOUNT_ID, "user": USER,
                       "lead": {key: value for key, value in LEAD.items() if key != "email"}}
    assert [body["account_id"] for body in sent[1:3]] == [OTHER_ACCOUNT_ID, ACCOUNT_ID]
    assert sent[3] == {"account_id": ACCOUNT_ID, "reason": "duplicate"}
    assert "external_ref" not in sent[4] and sent[4]["account_id"] == ACCOUNT_ID


@pytest.mark.parametrize(("path", "body", "field"), [
    (START, {**START_BODY, "user": None}, "user"),
    (START, {**START_BODY, "lead": None}, "lead"),
    (START, {**START_BODY, "user": {**USER, "external_id": None}}, "user.external_id"),
    (START, {**START_BODY, "user": {**USER, "provider_id": None}}, "user.provider_id"),
    (START, with_lead(first_name=None), "lead.first_name"),
    (START, with_lead(phone_mobile=None), "lead.phone_mobile"),
    (START, with_lead(campaign_code=None), "lead.campaign_code"),
    (START, with_lead(lead_origin=None), "lead.lead_origin"),
    (CONTINUE, {"account_id": ACCOUNT_ID, "user": None}, "user"),
    (RECORDING_URL, recording(date_start=None), "date_start"),
    (RECORDING_URL, recording(date_end=None), "date_end"),
    (RECORDING_URL, recording(recording_hash=None), "recording_hash"),
    (RECORDING_URL, recording(filename=None), "filename"),
    (RECORDING_URL, recording(content_type=None), "content_type"),
])
def test_null_in_a_required_field_is_a_400_naming_it(app, client, operator_headers, partner, path, body, field):
    response = client.post(path, json=body, headers=operator_headers)
    assert response.status_code == 400
    assert response.get_json() == {"detail": f"Invalid request: {field}: Field may not be null.",
                                   "code": "VALIDATION_ERROR"}
    assert nothing_happened(app, partner)


def test_every_bad_field_is_listed(client, operator_headers, partner):
    body = {"account_id": ACCOUNT_ID, "user": {**USER, "provider_id": 7},
            "lead": {**LEAD, "phone_mobile": "(083) 555-014", "email": "not-an-email"}}
    detail = client.post(START, json=body, headers=operator_headers).get_json()["detail"]
    for field in ("user.provider_id", "lead.phone_mobile", "lead.email"):
        assert field in detail


def test_a_filename_of_200_chars_and_a_naive_date_are_accepted(client, operator_headers, partner):
    partner.answer_recording_url()
    body = recording(filename="a" * 200, date_start="2026-11-22T08:00:00", date_end="2026-11-22T10:00:00+02:00")
    response = client.post(RECORDING_URL, json=body, headers=operator_headers)
    assert response.status_code == 400, "10:00+02:00 is 08:00 UTC: not after the start"
    body["date_end"] = "2026-11-22T10:30:00+02:00"
    assert client.post(RECORDING_URL, json=body, headers=operator_headers).status_code == 200


@pytest.mark.parametrize("path", [f"/api/v1/sales/status/{SALES_PROCESS_ID}/not-a-uuid",
                                  f"/api/v1/sales/status/bad$id/{ACCOUNT_ID}"], ids=["account", "process"])
def test_invalid_path_ids_are_named(app, client, operator_headers, partner, path):
    response = client.get(path, headers=operator_headers)
    assert response.status_code == 400
    field = "account_id" if path.endswith("not-a-uuid") else "sales_process_id"
    assert response.get_json()["detail"].startswith(f"Invalid request: {field}: ")
    assert nothing_happened(app, partner)


MALFORMED = [
    ('{"account_id": ', "application/json"),
    ("[1, 2, 3]", "application/json"),
    ('"just a string"', "application/json"),
    ("null", "application/json"),
    ('{"user": [], "lead": "x"}', "application/json"),
    ('{"user": {"external_id": 1e309}, "lead": {}}', "application/json"),
    ("user=agent-17", "application/x-www-form-urlencoded"),
    ("", None),
    (b"\xff\xfe\x00garbage", "application/json"),
]


def test_malformed_bodies_are_400_never_500(app, client, operator_headers, partner):
    for data, content_type in MALFORMED:
        response = client.post(START, data=data, content_type=content_type, headers=operator_headers)
        assert response.status_code == 400, data
        assert response.get_json()["code"] == "VALIDATION_ERROR", data
    assert nothing_happened(app, partner)


def test_near_miss_phone_numbers_are_refused(app, client, operator_headers, partner):
    for phone in ["(083) 555-0142\n", "(٠٨٣) ٥٥٥-٠١٤٢", "(083) 555-01420", "(083)555-0142", "+27 83 555 0142"]:
        response = client.post(START, json=with_lead(phone_mobile=phone), headers=operator_headers)
        assert response.status_code == 400, phone
        assert "lead.phone_mobile" in response.get_json()["detail"]
    assert nothing_happened(app, partner)


def test_huge_values_are_refused(app, client, operator_headers, partner):
    response = client.post(START, json=with_lead(first_name="x" * 100_000), headers=operator_headers)
    assert response.status_code == 400
    assert response.get_json()["detail"] == "Invalid request: lead.first_name: Length must be between 1 and 100."
    assert nothing_happened(app, partner)


def test_unicode_names_pass_through(client, operator_headers, partner):
    partner.answer_start()
    body = with_lead(first_name="Zoë", last_name="Ñandú-李")
    assert client.post(START, json=body, headers=operator_headers).status_code == 200
    assert partner.received[0].json()["lead"]["last_name"] == "Ñandú-李"


def test_unknown_keys_are_ignored_not_forwarded(client, operator_headers, partner):
    partner.answer_start()
    body = {**START_BODY, "campaign": "extra", "lead": {**LEAD, "nickname": "T"}}
    assert client.post(START, json=body, headers=operator_headers).status_code == 200
    assert partner.received[0].json() == START_BODY


PROTECTED = [("POST", START), ("POST", CONTINUE), ("GET", f"/api/v1/sales/status/{SALES_PROCESS_ID}/{ACCOUNT_ID}"),
             ("POST", f"/api/v1/sales/stop/{SALES_PROCESS_ID}"), ("POST", RECORDING_URL),
             ("POST", "/api/v1/sales/recordings/some-upload/file"), ("GET", "/api/v1/sales/upload-status/some-upload"),
             ("GET", "/api/v1/sales/processes"), ("GET", f"/api/v1/sales/processes/{SALES_PROCESS_ID}")]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_every_endpoint_needs_an_operator_before_anything_else(app, client, partner, method, path):
    for headers in ({}, {"Authorization": "Bearer not-a-valid-token"}, {"Authorization": "Basic b3A6cGFzcw=="}):
        response = client.open(path, method=method, data="{not json", content_type="application/json",
                               headers=headers)
        assert response.status_code == 401
        assert response.get_json() == {"detail": "Invalid authentication credentials", "code": "UNAUTHORIZED"}
        assert response.headers["WWW-Authenticate"] == "Bearer"
    assert nothing_happened(app, partner)


def test_unknown_paths_and_methods_answer_in_the_dtech_shape(client, operator_headers):
    missing = client.get("/api/v1/sales/no-such-thing", headers=operator_headers)
    assert (missing.status_code, missing.get_json()["code"]) == (404, "NOT_FOUND")
    wrong_method = client.delete(START, headers=operator_headers)
    assert (wrong_method.status_code, wrong_method.get_json()["code"]) == (405, "METHOD_NOT_ALLOWED")


def test_a_date_without_a_utc_equivalent_is_a_400_in_listings(client, operator_headers):
    response = client.get("/api/v1/sales/processes?created_from=0001-01-01T00:00:00%2B01:00", headers=operator_headers)
    assert response.status_code == 400
    assert response.get_json()["code"] == "VALIDATION_ERROR" and "created_from" in response.get_json()["detail"]
