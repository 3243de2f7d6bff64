"""How field values are read, as the FastAPI original (pydantic, lax mode) read them: numbers as numeric
text, enum values in any case, `null` as "not given"; and what stays refused because it could be read
two ways or does not fit."""

from __future__ import annotations

import pytest

from tests.sentratech.test_ingest import VOLUMES, bad_fields, post, stored
from tests.support.sentratech import valid_body

AMOUNTS = [("roi_reports", name) for name in ("bpo_spending", "sentratech_spending", "sentratech_bundles",
                                             "monthly_savings", "roi", "cost_reduction")]
OPTIONAL_VOLUMES = [(form, field) for form, field in VOLUMES if form != "roi_reports"]


def stored_value(app, form, field):
    [record] = stored(app, form)
    return getattr(record, field)


def stored_values(app, form, field, ids):
    by_id = {record.id: getattr(record, field) for record in stored(app, form)}
    return [by_id[record_id] for record_id in ids]


def accepted_ids(client, form, field, values):
    ids = []
    for value in values:
        response = post(client, form, valid_body(form, **{field: value}))
        assert response.status_code == 200, (value, response.get_json())
        ids.append(response.get_json()["id"])
    return ids


def assert_each_refused(app, client, form, field, values):
    for value in values:
        assert bad_fields(post(client, form, valid_body(form, **{field: value}))) == [["body", field]], value
    assert stored(app, form) == []


DIGIT_STRINGS = {"50000": 50000, " 42 ": 42, "\t7\n": 7, "+5": 5, "-0": 0, "0042": 42, "4.0": 4, "4.": 4,
                 str(2**31 - 1): 2**31 - 1}
NOT_INTEGERS = ["50,000", "", "   ", "4.5", "1e3", "0x10", "1_000", "١٢", "１２", "12abc", "five", "-1", str(2**31),
                "9" * 30, "9" * 5000, True, False, 2.5, [1], {"n": 1}]
NUMERIC_TEXTS = {"12000.50": 12000.5, " 7 ": 7.0, "-3.5": -3.5, "+2": 2.0, "1e3": 1000.0, "2.5E-1": 0.25, ".5": 0.5,
                 "0": 0.0}
NOT_NUMBERS = ["50,000", "", "  ", "NaN", "nan", "inf", "-Infinity", "1e400", "9" * 400, "0x10", "1_000", "١٢",
               "12 000", "1.2.3", "e3", "€12", True, False, None, [1], {"n": 1}]


@pytest.mark.parametrize("form, field", VOLUMES)
def test_an_integer_may_come_as_a_digit_string_or_an_exact_number(app, client, form, field):
    sent = [*DIGIT_STRINGS, 4.0, 12]
    values = stored_values(app, form, field, accepted_ids(client, form, field, sent))
    assert values == [*DIGIT_STRINGS.values(), 4, 12]
    assert {type(value) for value in values} == {int}


@pytest.mark.parametrize("form, field", VOLUMES)
def test_an_integer_that_could_be_read_two_ways_or_does_not_fit_is_refused(app, client, form, field):
    assert_each_refused(app, client, form, field, NOT_INTEGERS)


@pytest.mark.parametrize("form, field", AMOUNTS)
def test_a_number_may_come_as_numeric_text(app, client, form, field):
    values = stored_values(app, form, field, accepted_ids(client, form, field, [*NUMERIC_TEXTS, 12, 0.33]))
    assert values == [*NUMERIC_TEXTS.values(), 12.0, 0.33]
    assert {type(value) for value in values} == {float}


@pytest.mark.parametrize("form, field", AMOUNTS)
def test_a_number_that_is_not_a_finite_decimal_is_refused(app, client, form, field):
    assert_each_refused(app, client, form, field, NOT_NUMBERS)


@pytest.mark.parametrize("form, field, sent, canonical", [
    ("contact_requests", "preferred_contact_method", "email", "Email"),
    ("contact_requests", "preferred_contact_method", "PHONE", "Phone"),
    ("contact_requests", "preferred_contact_method", " phone ", "Phone"),
    ("contact_requests", "status", "In_Progress", "in_progress"),
    ("contact_requests", "status", "CLOSED", "closed"),
    ("contact_requests", "status", "Pending", "pending"),
    ("subscriptions", "status", "SUBSCRIBED", "subscribed"),
    ("subscriptions", "status", "UnSubscribed", "unsubscribed"),
])
def test_an_enum_value_in_any_case_is_stored_canonically(app, client, form, field, sent, canonical):
    assert post(client, form, valid_body(form, **{field: sent})).status_code == 200
    assert stored_value(app, form, field) == canonical


@pytest.mark.parametrize("form, field, sent", [
    ("contact_requests", "preferred_contact_method", "e-mail"),
    ("contact_requests", "preferred_contact_method", ""),
    ("contact_requests", "status", "in progress"),
    ("contact_requests", "status", "ＣＬＯＳＥＤ"),
    ("subscriptions", "status", "ſubscribed"),  # a long s folds to "s" in Unicode, not in ASCII
    ("subscriptions", "status", 1),
])
def test_an_enum_value_that_is_not_one_of_the_choices_is_refused(app, client, form, field, sent):
    response = post(client, form, valid_body(form, **{field: sent}))
    assert bad_fields(response) == [["body", field]]
    assert stored(app, form) == []


@pytest.mark.parametrize("source", ["newsletter_footer", "Blog Sidebar", "x" * 100, "landing"])
def test_a_subscription_source_is_any_text_up_to_100_characters(app, client, source):
    assert post(client, "subscriptions", valid_body("subscriptions", source=source)).status_code == 200
    assert stored_value(app, "subscriptions", "source") == source


def test_a_subscription_source_over_100_characters_is_refused(app, client):
    assert bad_fields(post(client, "subscriptions", valid_body("subscriptions", source="x" * 101))) == [
        ["body", "source"]]
    assert stored(app, "subscriptions") == []


@pytest.mark.parametrize("form, field, default", [
    *((form, field, 0) for form, field in OPTIONAL_VOLUMES),
    ("contact_requests", "preferred_contact_method", "Email"),
    ("contact_requests", "status", "pending"),
    ("contact_requests", "phone", None),
    ("demo_requests", "source", None),
    ("subscriptions", "status", "subscribed"),
    ("subscriptions", "source", "website"),
])
def test_null_in_an_optional_field_means_not_given(app, client, form, field, default):
    assert post(client, form, valid_body(form, **{field: None})).status_code == 200
    assert stored_value(app, form, field) == default


@pytest.mark.parametrize("form, field", [
    ("demo_requests", "user_name"), ("demo_requests", "email"), ("contact_requests", "message"),
    ("roi_reports", "monthly_volume"), ("roi_reports", "roi"), ("subscriptions", "email")])
def test_null_in_a_required_field_is_refused(app, client, form, field):
    response = post(client, form, valid_body(form, **{field: None}))
    assert response.get_json() == {"detail": [{"loc": ["body", field], "msg": "Field may not be null.",
                                               "type": "value_error"}]}
    assert stored(app, form) == []
