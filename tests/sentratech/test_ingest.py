"""POST /api/ingest/<form>: the key, every field rule of the contract, the answers, what is stored."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.sentratech.forms import FORMS
from tests.support.sentratech import INGEST_HEADERS, LABELS, VALID_BODIES, valid_body

REQUIRED = {
    "demo_requests": ["user_name", "email", "company", "message"],
    "contact_requests": ["full_name", "work_email", "company_name", "message"],
    "roi_reports": ["country", "monthly_volume", "bpo_spending", "sentratech_spending", "sentratech_bundles",
                    "monthly_savings", "roi", "cost_reduction", "contact_email"],
    "subscriptions": ["email"],
}
ENUMS = [("contact_requests", "preferred_contact_method"), ("contact_requests", "status"),
         ("subscriptions", "status")]
EMAILS = [("demo_requests", "email"), ("contact_requests", "work_email"), ("roi_reports", "contact_email"),
          ("subscriptions", "email")]
VOLUMES = [("demo_requests", "call_volume"), ("demo_requests", "interaction_volume"),
           ("contact_requests", "call_volume"), ("contact_requests", "interaction_volume"),
           ("roi_reports", "monthly_volume")]
NUMBERS = VOLUMES + [("roi_reports", name) for name in ("bpo_spending", "sentratech_spending", "sentratech_bundles",
                                                         "monthly_savings", "roi", "cost_reduction")]


def post(client, form, body, headers=INGEST_HEADERS):
    return client.post(f"/api/ingest/{form}", json=body, headers=headers)


def stored(app, form):
    model = FORMS[form].model
    with app.app_context():
        rows = db.session.scalars(select(model)).all()
        db.session.expunge_all()
        return rows


def bad_fields(response):
    assert response.status_code == 422, response.get_data(as_text=True)
    return [item["loc"] for item in response.get_json()["detail"]]


@pytest.mark.parametrize("form", list(FORMS))
def test_a_valid_form_is_stored_and_answered(app, client, form):
    response = post(client, form, valid_body(form))
    assert response.status_code == 200
    answer = response.get_json()
    assert answer == {"status": "success", "id": answer["id"], "message": f"{LABELS[form]} received",
                      "dashboard_status": "queued"}
    [record] = stored(app, form)
    assert record.id == answer["id"]
    assert record.sync_status == "pending_dashboard_sync"
    assert {name: getattr(record, name) for name in VALID_BODIES[form]} == VALID_BODIES[form]


def test_defaults_are_filled_strings_trimmed_and_unknown_keys_ignored(app, client):
    body = {"full_name": "  Ben  ", "work_email": " Ben@Example.COM ", "company_name": "\tExample\n",
            "message": " hi ", "phone": "   ", "unknown": {"nested": [1]}, "id": "chosen-by-client"}
    response = post(client, "contact_requests", body)
    assert response.status_code == 200
    [record] = stored(app, "contact_requests")
    assert record.id == response.get_json()["id"] != "chosen-by-client"
    assert (record.full_name, record.work_email, record.company_name, record.message) == (
        "Ben", "Ben@example.com", "Example", "hi")
    assert (record.phone, record.company_website, record.assigned_rep) == (None, None, None)
    assert (record.call_volume, record.interaction_volume) == (0, 0)
    assert (record.preferred_contact_method, record.status) == ("Email", "pending")
    subscription = post(client, "subscriptions", {"email": "new@example.com"})
    assert subscription.status_code == 200
    [row] = stored(app, "subscriptions")
    assert (row.source, row.status) == ("website", "subscribed")


def test_unicode_is_stored_as_sent(app, client):
    body = valid_body("demo_requests", user_name="Zoë Ångström 山田", message="Bonjour 👋 — ça va?")
    assert post(client, "demo_requests", body).status_code == 200
    [record] = stored(app, "demo_requests")
    assert (record.user_name, record.message) == ("Zoë Ångström 山田", "Bonjour 👋 — ça va?")


@pytest.mark.parametrize("form, field", [(form, field) for form, fields in REQUIRED.items() for field in fields])
def test_each_required_field_missing_is_named(app, client, form, field):
    body = valid_body(form)
    del body[field]
    response = post(client, form, body)
    assert response.get_json() == {"detail": [{"loc": ["body", field], "msg": "Missing data for required field.",
                                               "type": "missing"}]}
    assert stored(app, form) == []


@pytest.mark.parametrize("form, field", [(form, field) for form, fields in REQUIRED.items() for field in fields
                                         if field not in dict(EMAILS).values() and field not in dict(NUMBERS).values()])
def test_a_blank_required_string_is_refused(client, form, field):
    assert bad_fields(post(client, form, valid_body(form, **{field: "   "}))) == [["body", field]]


@pytest.mark.parametrize("form, field", ENUMS)
def test_a_value_outside_the_enum_is_named(app, client, form, field):
    response = post(client, form, valid_body(form, **{field: "sometimes"}))
    assert bad_fields(response) == [["body", field]]
    assert response.get_json()["detail"][0]["msg"].startswith("Must be one of")
    assert stored(app, form) == []


@pytest.mark.parametrize("form, field", EMAILS)
def test_a_bad_email_is_named(client, form, field):
    expected = {"not-an-email": "Not a valid email address", "a@": "Not a valid email address",
                "@example.com": "Not a valid email address", "a b@example.com": "Not a valid email address",
                "a\x00@example.com": "Must not contain NUL"}
    for address, message in expected.items():
        response = post(client, form, valid_body(form, **{field: address}))
        assert bad_fields(response) == [["body", field]]
        assert response.get_json()["detail"][0]["msg"].startswith(message)


@pytest.mark.parametrize("form, field", VOLUMES)
def test_a_negative_volume_is_named(client, form, field):
    assert bad_fields(post(client, form, valid_body(form, **{field: -1}))) == [["body", field]]


@pytest.mark.parametrize("form, field", NUMBERS)
def test_anything_but_a_number_where_a_number_belongs_is_named(client, form, field):
    for value in ("lots", "", "50,000", True, [1], {"n": 1}):
        assert bad_fields(post(client, form, valid_body(form, **{field: value}))) == [["body", field]], value


@pytest.mark.parametrize("field, value", [("call_volume", 2**31), ("call_volume", 10**400), ("call_volume", 2.5)])
def test_integers_out_of_range_or_fractional_are_refused(client, field, value):
    assert bad_fields(post(client, "demo_requests", valid_body("demo_requests", **{field: value}))) == [
        ["body", field]]


def test_huge_and_special_floats_are_refused(client):
    response = client.post("/api/ingest/roi_reports", headers=INGEST_HEADERS, content_type="application/json",
                           data='{"country": "X", "monthly_volume": 1, "bpo_spending": 1e400, "sentratech_spending": '
                                + "9" * 500 + ', "sentratech_bundles": NaN, "monthly_savings": -Infinity, "roi": 1, '
                                '"cost_reduction": 1, "contact_email": "a@example.com"}')
    assert bad_fields(response) == [["body", name] for name in
                                    ("bpo_spending", "sentratech_spending", "sentratech_bundles", "monthly_savings")]


def test_text_that_cannot_be_stored_is_refused(app, client):
    for text, message in (("a\x00b", "Must not contain NUL (0x00) characters."),
                          ("\ud800x", "Must be valid Unicode text (no unpaired surrogates).")):
        response = client.post("/api/ingest/demo_requests", headers=INGEST_HEADERS, content_type="application/json",
                               data=json.dumps(valid_body("demo_requests", user_name=text)))
        assert response.get_json() == {"detail": [{"loc": ["body", "user_name"], "msg": message,
                                                   "type": "value_error"}]}
    assert stored(app, "demo_requests") == []


@pytest.mark.parametrize("field, limit", [("user_name", 200), ("company", 200), ("message", 5000)])
def test_maximum_lengths_apply(app, client, field, limit):
    assert post(client, "demo_requests", valid_body("demo_requests", **{field: "x" * limit})).status_code == 200
    assert bad_fields(post(client, "demo_requests", valid_body("demo_requests", **{field: "x" * (limit + 1)}))) == [
        ["body", field]]
    assert [getattr(row, field) for row in stored(app, "demo_requests")] == ["x" * limit], "kept whole, not cut"


def test_every_bad_field_is_listed_at_once(client):
    response = post(client, "contact_requests", {"full_name": 7, "work_email": "nope", "call_volume": -5,
                                                 "status": "open", "message": "x" * 5001})
    assert sorted(bad_fields(response)) == sorted(
        [["body", name] for name in ("full_name", "work_email", "company_name", "message", "call_volume", "status")])


@pytest.mark.parametrize("data", ["{not json", "", "[1, 2]", '"text"', "42", "null", '{"email": "a@b.c",}',
                                  "\xff\xfe"])
def test_malformed_or_non_object_bodies_are_422_never_500(app, client, data):
    response = client.post("/api/ingest/subscriptions", data=data, content_type="application/json",
                           headers=INGEST_HEADERS)
    assert response.status_code == 422
    assert response.get_json()["detail"][0]["loc"][0] == "body"
    assert stored(app, "subscriptions") == []


@pytest.mark.parametrize("data", ["[" * 100000,
                                  '{"email": "a@example.com", "x": ' + '{"a": ' * 50000 + "1" + "}" * 50001])
def test_a_body_nested_too_deeply_is_422(app, client, data):
    response = client.post("/api/ingest/subscriptions", data=data, content_type="application/json",
                           headers=INGEST_HEADERS)
    assert response.get_json() == {"detail": [{"loc": ["body"], "msg": "Invalid JSON body: nested too deeply.",
                                               "type": "json_invalid"}]}
    assert response.status_code == 422
    assert stored(app, "subscriptions") == []


def test_malformed_json_names_the_body(client):
    response = client.post("/api/ingest/demo_requests", data="{not json", content_type="application/json",
                           headers=INGEST_HEADERS)
    assert response.get_json() == {"detail": [{"loc": ["body"], "msg": "Invalid JSON body.", "type": "json_invalid"}]}


def test_a_body_without_json_content_type_lists_the_missing_fields(client):
    response = client.post("/api/ingest/subscriptions", data='{"email": "a@example.com"}', headers=INGEST_HEADERS)
    assert bad_fields(response) == [["body", "email"]]


def test_a_body_over_the_size_limit_is_413(make_app):
    client = make_app(MAX_CONTENT_LENGTH=1000).test_client()
    response = post(client, "demo_requests", valid_body("demo_requests", message="x" * 2000))
    assert response.status_code == 413
    assert set(response.get_json()) == {"detail"}


@pytest.mark.parametrize("form", list(FORMS))
def test_no_key_or_a_wrong_key_is_401_before_the_body_is_read(app, client, form):
    for headers in ({}, {"X-INGEST-KEY": "wrong-key"}, {"X-INGEST-KEY": ""},
                    {"X-Ingest-Key": "test-ingest-key-but-longer"}):
        for response in (post(client, form, valid_body(form), headers=headers),
                         client.post(f"/api/ingest/{form}", data="{not json", content_type="application/json",
                                     headers=headers)):
            assert response.status_code == 401
            assert response.get_json() == {"detail": "Invalid or missing X-INGEST-KEY"}
    assert stored(app, form) == []


def test_every_rotated_key_is_accepted_and_an_unset_key_accepts_nothing(make_app):
    rotated = make_app(INGEST_KEY="test-ingest-key-new,test-ingest-key-old").test_client()
    for key in ("test-ingest-key-new", "test-ingest-key-old"):
        assert post(rotated, "subscriptions", valid_body("subscriptions"), {"X-INGEST-KEY": key}).status_code == 200
    unset = make_app(INGEST_KEY="").test_client()
    assert post(unset, "subscriptions", valid_body("subscriptions"), {"X-INGEST-KEY": ""}).status_code == 401


def test_a_resubscription_updates_the_existing_row(app, client):
    first = post(client, "subscriptions", {"email": "Reader@Example.com", "source": "landing"}).get_json()
    again = post(client, "subscriptions", {"email": " reader@example.COM ", "status": "unsubscribed",
                                           "source": "referral"}).get_json()
    assert again["id"] == first["id"]
    [row] = stored(app, "subscriptions")
    assert (row.email, row.status, row.source) == ("reader@example.com", "unsubscribed", "referral")
    assert row.updated_at > row.created_at


def test_a_subscription_update_without_a_source_keeps_the_stored_one(app, client):
    first = post(client, "subscriptions", {"email": "reader@example.com", "source": "newsletter_footer"}).get_json()
    for body in ({"email": "reader@example.com", "status": "unsubscribed"},
                 {"email": "READER@example.com", "status": "subscribed", "source": None},
                 {"email": "reader@example.com", "status": "unsubscribed", "source": "   "}):
        assert post(client, "subscriptions", body).get_json()["id"] == first["id"]
    [row] = stored(app, "subscriptions")
    assert (row.source, row.status, row.revision) == ("newsletter_footer", "unsubscribed", 4)


def test_each_change_of_a_subscription_is_a_new_revision_and_a_repost_is_not(app, client):
    def revision_after(body):
        post(client, "subscriptions", body)
        [row] = stored(app, "subscriptions")
        return row.revision

    assert revision_after({"email": "reader@example.com"}) == 1
    assert revision_after({"email": "reader@example.com", "status": "subscribed", "source": "website"}) == 1
    assert revision_after({"email": "Reader@Example.com", "status": "SUBSCRIBED"}) == 1
    assert revision_after({"email": "reader@example.com", "source": "landing"}) == 2
    assert revision_after({"email": "reader@example.com", "status": "unsubscribed"}) == 3
    assert revision_after({"email": "reader@example.com", "status": "unsubscribed", "source": "landing"}) == 3
    assert revision_after({"email": "reader@example.com"}) == 4, "subscribing again is a change"


def test_a_repost_identical_to_the_stored_subscription_queues_nothing(make_app, httpserver):
    app = make_app(DASHBOARD_BASE_URL=httpserver.url_for("/"))
    client = app.test_client()
    for _ in range(3):
        post(client, "subscriptions", {"email": "reader@example.com", "source": "landing"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_other_forms_are_revision_1(app, client):
    for form in ("demo_requests", "contact_requests", "roi_reports"):
        post(client, form, valid_body(form))
        assert [record.revision for record in stored(app, form)] == [1]


def test_without_a_dashboard_no_outbox_message_is_written(app, client):
    post(client, "demo_requests", valid_body("demo_requests"))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_answer_405_in_the_fastapi_shape(client, method):
    response = client.open("/api/ingest/demo_requests", method=method, headers=INGEST_HEADERS)
    assert response.status_code == 405
    assert set(response.get_json()) == {"detail"}


def test_concurrent_subscriptions_of_one_address_leave_one_row(app, live_server):
    def subscribe(status):
        return requests.post(f"{live_server}/api/ingest/subscriptions", headers=INGEST_HEADERS, timeout=30,
                             json={"email": "race@example.com", "status": status}).json()["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(subscribe, ["subscribed", "unsubscribed"] * 8))
    assert len(ids) == 1
    [row] = stored(app, "subscriptions")
    assert row.id in ids


def test_a_key_over_its_rate_limit_gets_429_and_nothing_is_stored(make_app):
    app = make_app(INGEST_RATE_LIMIT="2/minute")
    client = app.test_client()
    answers = [post(client, "subscriptions", valid_body("subscriptions", email=f"reader{n}@example.com"))
               for n in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 429, 429]
    assert int(answers[2].headers["Retry-After"]) > 0 and "detail" in answers[2].get_json()
    emails = sorted(row.email for row in stored(app, "subscriptions"))
    assert emails == ["reader0@example.com", "reader1@example.com"], "the refused posts stored nothing"


def test_one_visitor_cannot_use_up_the_public_keys_limit_for_everyone(make_app):
    """INGEST_KEY sits in the site's pages, so it proves nothing about who posts: each address has its own
    bucket under the key (an extra header or a header in another case still gives none)."""
    client = make_app(INGEST_RATE_LIMIT="2/minute").test_client()

    def post_from(address, **headers):
        return client.post("/api/ingest/subscriptions", json=valid_body("subscriptions", email=f"{address}@x.org"),
                           headers={**INGEST_HEADERS, **headers}, environ_base={"REMOTE_ADDR": address}).status_code

    assert [post_from("203.0.113.5"), post_from("203.0.113.5", **{"X-API-Key": "other"}),
            post_from("203.0.113.5", Authorization="Bearer x")] == [200, 200, 429]
    assert post_from("198.51.100.7") == 200, "another visitor is not refused"


def test_an_email_that_is_not_a_string_is_a_422(client):
    response = post(client, "subscriptions", valid_body("subscriptions", email=42))
    assert response.status_code == 422
    assert response.get_json()["detail"][0] == {"loc": ["body", "email"], "msg": "Not a valid string.",
                                                "type": "value_error"}
