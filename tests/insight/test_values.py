"""Values keep their meaning or are refused with a message naming them: amounts, phones, text columns.

The same readers serve the API, the spreadsheet upload, the rows the front end validates and the CLI.
"""

import pytest
from sqlalchemy import func, select

from modules.core.extensions import db
from modules.insight.models import Customer
from tests.insight.test_upload import upload, xlsx

ACCEPTED_AMOUNTS = [
    ("12,050.00", "12050.00"), ("1,000,000.5", "1000000.50"), ("1,234,567", "1234567.00"), (" 120.5 ", "120.50"),
    ("\u00a0120.50\u00a0", "120.50"), ("-0", "0.00"), ("-0.00", "0.00"), (".5", "0.50"), ("+5", "5.00"),
    ("10.50", "10.50"), (120.5, "120.50"), (12.299999999999999, "12.30"), (0.1 + 0.2, "0.30"), (1e3, "1000.00"),
    (-0.0, "0.00"), (7, "7.00"),
]
REFUSED_AMOUNTS = [
    ("120,50", "'120,50' could be read more than one way"),
    ("1.250,75", "'1.250,75' could be read more than one way"),
    ("1 250,75", "Not a valid amount: '1 250,75'."),
    ("1,2", "'1,2' could be read more than one way"),
    ("1,23", "'1,23' could be read more than one way"),
    ("1,234", "'1,234' could mean 1234 or 1.234: write 1234 or 1,234.00."),
    (",5", "',5' could be read more than one way"),
    ("1,,000", "'1,,000' could be read more than one way"),
    ("12,34,567", "'12,34,567' could be read more than one way"),
    ("1 250", "Not a valid amount: '1 250'."),
    ("1\u00a0250", "Not a valid amount: '1\\xa0250'."),
    ("GHS 120", "Not a valid amount: 'GHS 120'."),
    ("\u20b5120", "Not a valid amount: '\u20b5120'."),
    ("$5", "Not a valid amount: '$5'."),
    ("1e3", "Not a valid amount: '1e3'."),
    ("10.005", "'10.005' has more than two decimals"),
    ("1.250", "'1.250' has more than two decimals"),
    (10.005, "'10.005' has more than two decimals"),
    (0.125, "'0.125' has more than two decimals"),
    ("-5", "Arrears cannot be negative."),
    ("\u0661\u0662", "Not a valid amount: '\u0661\u0662'."),
]


def post_customer(client, headers, **fields):
    body = {"name": "Ama Mensah", "account_number": "ACC-1", "phone": "0241234567", "arrears": "1", **fields}
    return client.post("/api/customers/", headers=headers, json=body)


def test_amounts_that_mean_one_thing_are_stored_as_that(client, operator_headers):
    stored = [post_customer(client, operator_headers, account_number=f"A-{n}", arrears=given).get_json()["arrears"]
              for n, (given, _) in enumerate(ACCEPTED_AMOUNTS)]
    assert stored == [expected for _, expected in ACCEPTED_AMOUNTS]


def test_amounts_that_could_be_read_two_ways_are_refused_naming_the_value(client, operator_headers, app):
    messages = []
    for given, _ in REFUSED_AMOUNTS:
        response = post_customer(client, operator_headers, arrears=given)
        assert response.status_code == 422, given
        [item] = response.get_json()["detail"]
        messages.append((item["loc"], item["msg"][:len(_)]))
    assert messages == [(["body", "arrears"], expected) for _, expected in REFUSED_AMOUNTS]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


def test_a_semicolon_csv_with_decimal_commas_is_refused_row_by_row(client, operator_headers):
    content = ("name;account_number;phone;arrears\nAma;A-1;0241234567;120,50\nKofi;A-2;0201234567;1.250,75\n"
               "Yaw;A-3;0551234567;12,050.00\nEsi;A-4;0271234567;1,234\n")
    body = upload(client, operator_headers, content.encode(), "export.csv").get_json()
    assert [(row["arrears"], row["status"]) for row in body["data"]] == [
        ("120,50", "error"), ("1.250,75", "error"), ("12050.00", "validated"), ("1,234", "error")]
    assert body["data"][0]["errors"] == ["arrears: '120,50' could be read more than one way: use a point for "
                                         "decimals, and commas only between groups of three digits (12,050.00)."]


def test_spreadsheet_numbers_are_read_as_the_sheet_shows_them(client, operator_headers):
    rows = [["Ama", "A-1", "0241234567", 12.299999999999999], ["Kofi", "A-2", "0201234567", 0.1 + 0.2],
            ["Yaw", "A-3", "0551234567", 10.005], ["Esi", "A-4", "0271234567", 120.5]]
    body = upload(client, operator_headers, xlsx(rows), "c.xlsx").get_json()
    assert [(row["arrears"], row["errors"]) for row in body["data"]] == [
        ("12.30", []), ("0.30", []),
        ("10.005", ["arrears: '10.005' has more than two decimals: amounts are refused, never rounded."]),
        ("120.50", [])]
    front_end = client.post("/api/upload/validate-customers", headers=operator_headers, json=[
        {"name": "Ama", "account_number": "A-1", "phone": "0241234567", "arrears": 12.299999999999999}])
    assert front_end.get_json()["validated"][0]["arrears"] == "12.30"


PHONES_REFUSED = ["024 123 4567 ext. 5", "0241234567; 0201234567", "024 123 4567 x5", "0241234567#5",
                  "0241234567;ext=5", "tel:0241234567", "024-CALL-ME"]


@pytest.mark.parametrize("phone", PHONES_REFUSED)
def test_an_extension_or_two_numbers_in_one_phone_are_refused_everywhere(sms_client, operator_headers, phone):
    api = post_customer(sms_client, operator_headers, phone=phone)
    assert api.status_code == 422
    assert api.get_json()["detail"][0]["loc"] == ["body", "phone"]
    rows = sms_client.post("/api/upload/validate-customers", headers=operator_headers, json=[
        {"name": "Ama", "account_number": "A-1", "phone": phone, "arrears": "1"}]).get_json()
    assert rows["error_count"] == 1 and rows["errors"][0]["errors"][0].startswith("phone: ")
    bulk = sms_client.post("/api/sms/send-bulk", headers=operator_headers,
                           json={"recipients": ["0241234567", phone], "message": "Hello"})
    assert bulk.status_code == 422 and bulk.get_json()["detail"][0]["loc"] == ["body", "recipients", 1]


def test_the_phone_refusal_names_the_value(client, operator_headers):
    response = post_customer(client, operator_headers, phone="024 123 4567 ext. 5")
    assert response.get_json()["detail"][0]["msg"] == (
        "'024 123 4567 ext. 5' is not one phone number: give a single number, without an extension or other text.")


@pytest.mark.parametrize("field, value, message", [
    ("account_number", "=HYPERLINK(\"http://x\",\"pay\")", "Account number '=HYPERLINK"),
    ("account_number", "+1-555", "Account number '+1-555' starts with '+'"),
    ("account_number", "-12", "Account number '-12' starts with '-'"),
    ("account_number", "@SUM(A1)", "Account number '@SUM(A1)' starts with '@'"),
    ("account_number", "\uff1d1+1", "Account number '\uff1d1+1' starts with"),
    ("name", "-Ama", "Name must start with a letter."),
    ("name", "'Ama", "Name must start with a letter."),
    ("account_number", 1.2345678901234567e+19, "The spreadsheet stored this as the number 1.23456789012346e+19"),
    ("account_number", 12345678901234567890, "The spreadsheet stored this as the number 12345678901234567890"),
    ("account_number", 1003.5, "The spreadsheet stored this as the number 1003.5"),
    ("phone", 2.41234567e20, "The spreadsheet stored this as the number 2.41234567e+20"),
])
def test_text_columns_refuse_formulas_and_numbers_that_lost_digits(client, operator_headers, field, value, message):
    response = post_customer(client, operator_headers, **{field: value})
    assert response.status_code == 422
    [item] = response.get_json()["detail"]
    assert (item["loc"], item["msg"][:len(message)]) == (["body", field], message)


def test_whole_numbers_in_text_columns_are_kept_as_typed(client, operator_headers):
    body = post_customer(client, operator_headers, account_number=100200300400500 - 1, phone=241234567.0).get_json()
    assert (body["account_number"], body["phone"]) == ("100200300400499", "0241234567")
