"""Customers: normalisation, validation, uniqueness, CRUD, search and filters, the dashboard."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.core.types import utcnow
from modules.insight.models import Customer, CustomerAction
from tests.support.insight import create_customer

PHONES = [("+233 24 123 4567", "0241234567"), ("024-123-4567", "0241234567"), ("233241234567", "0241234567"),
          ("(020) 123 4567", "0201234567"), ("+44 20 7946 0958", "+442079460958")]
NAMES = [("ama  mensah-boateng", "Ama Mensah-Boateng"), ("  kwame o'neil ", "Kwame O'Neil"),
         ("ÉLODIE ásantewaa", "Élodie Ásantewaa"), ("Kofi O\u2019Brien", "Kofi O'Brien")]


def test_phones_are_stored_in_national_form_and_names_title_cased(client, operator_headers):
    phones = [create_customer(client, operator_headers, phone=given, account_number=f"P-{n}")["phone"]
              for n, (given, _) in enumerate(PHONES)]
    names = [create_customer(client, operator_headers, name=given, account_number=f"N-{n}")["name"]
             for n, (given, _) in enumerate(NAMES)]
    assert phones == [stored for _, stored in PHONES]
    assert names == [stored for _, stored in NAMES]


def test_a_customer_is_created_with_every_field(client, operator_headers, app):
    body = create_customer(client, operator_headers, arrears=99.99, status="warned")
    assert set(body) == {"id", "name", "account_number", "phone", "status", "arrears", "created_at", "updated_at"}
    assert (body["arrears"], body["status"], body["created_at"][-1]) == ("99.99", "warned", "Z")
    with app.app_context():
        stored = db.session.get(Customer, body["id"])
        assert stored.arrears == Decimal("99.99")
        assert db.session.scalar(select(AuditEntry.event).where(AuditEntry.subject_id == body["id"])) == (
            "customer.created")


def test_arrears_default_to_zero(client, operator_headers):
    response = client.post("/api/customers/", headers=operator_headers,
                           json={"name": "Yaw", "account_number": "A-2", "phone": "0551234567"})
    assert (response.status_code, response.get_json()["arrears"]) == (201, "0.00")


INVALID_FIELDS = [
    ("phone", "12345", "Not a valid phone number for GH."),
    ("phone", "call me", "Not a valid phone number."),
    ("arrears", -5, "Arrears cannot be negative."),
    ("arrears", "ten", "Not a valid amount: 'ten'."),
    ("arrears", "1e400", "Not a valid amount: '1e400'."),
    ("arrears", 1e300, "Arrears cannot exceed 9999999999.99."),
    ("arrears", True, "Not a valid amount."),
    ("status", "suspended", "Must be one of: connected, disconnected, warned."),
    ("name", "R2-D2", "Name may only contain letters, spaces, hyphens and apostrophes."),
    ("name", "   ", "Name is required."),
    ("account_number", "x" * 51, "Account number is longer than 50 characters."),
    ("account_number", ["A"], "Not a valid string."),
]


def test_invalid_fields_are_a_422_naming_the_field(client, operator_headers, app):
    answers = []
    for field, value, _ in INVALID_FIELDS:
        body = {"name": "Ama", "account_number": "ACC-9", "phone": "0241234567", "arrears": "1", field: value}
        response = client.post("/api/customers/", json=body, headers=operator_headers)
        answers.append((response.status_code, [(item["loc"], item["msg"]) for item in response.get_json()["detail"]]))
    assert answers == [(422, [(["body", field], message)]) for field, _, message in INVALID_FIELDS]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


MALFORMED = [
    ("{not json", "application/json"),
    ("[1, 2]", "application/json"),
    ("\"text\"", "application/json"),
    ("name=Ama", "application/x-www-form-urlencoded"),
    ("{\"name\": \"\u0000\", \"account_number\": {}, \"phone\": 1e999, \"arrears\": null}", "application/json"),
]


def test_malformed_bodies_are_4xx_never_5xx(client, operator_headers):
    for data, content_type in MALFORMED:
        response = client.post("/api/customers/", data=data, content_type=content_type, headers=operator_headers)
        assert 400 <= response.status_code < 500 and "detail" in response.get_json(), data


def test_a_duplicate_account_number_is_a_409(client, operator_headers, customer):
    response = client.post("/api/customers/", headers=operator_headers,
                           json={"name": "Kofi", "account_number": " ACC-1001 ", "phone": "0201234567"})
    assert response.status_code == 409
    assert response.get_json() == {"detail": {
        "error_code": "CUSTOMER_ALREADY_EXISTS", "message": "A customer with account number ACC-1001 already exists.",
        "details": {"account_number": "ACC-1001"}}}


def test_get_update_and_delete(client, operator_headers, customer, app):
    url = f"/api/customers/{customer['id']}"
    assert client.get(url, headers=operator_headers).get_json() == customer
    response = client.put(url, headers=operator_headers, json={"phone": "+233 20 123 4567", "arrears": "0",
                                                               "id": "ignored", "created_at": "ignored"})
    assert response.status_code == 200
    updated = response.get_json()
    assert (updated["phone"], updated["arrears"], updated["name"], updated["id"]) == (
        "0201234567", "0.00", "Ama Mensah", customer["id"])
    assert client.delete(url, headers=operator_headers).get_json() == {"message": "Customer deleted successfully"}
    assert client.get(url, headers=operator_headers).status_code == 404
    with app.app_context():
        assert db.session.get(Customer, customer["id"]) is None


def test_updating_to_a_taken_account_number_is_a_409(client, operator_headers, customer):
    other = create_customer(client, operator_headers, account_number="ACC-2")
    response = client.put(f"/api/customers/{other['id']}", headers=operator_headers,
                          json={"account_number": "ACC-1001"})
    assert response.status_code == 409
    assert response.get_json()["detail"]["error_code"] == "CUSTOMER_ALREADY_EXISTS"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_unknown_customer_is_a_404(client, operator_headers, method):
    response = client.open("/api/customers/no-such-id", method=method, json={}, headers=operator_headers)
    assert (response.status_code, response.get_json()) == (404, {"detail": "Customer not found"})


@pytest.fixture
def several(client, operator_headers):
    specs = [("Ama Mensah", "ACC-1", "0241234567", "10.00", "connected"),
             ("Kofi Boateng", "ACC-2", "0201234567", "250.00", "disconnected"),
             ("Efua 100% Owusu".replace(" 100%", ""), "X_3", "0551234567", "75.50", "warned"),
             ("Yaw Ama", "ACC-4", "0271234567", "0", "connected")]
    return [create_customer(client, operator_headers, name=name, account_number=account, phone=phone,
                            arrears=arrears, status=status) for name, account, phone, arrears, status in specs]


SEARCHES = [
    ("search=ama", {"ACC-1", "ACC-4"}),
    ("search=acc-2", {"ACC-2"}),
    ("search=%2B233 55 123 4567", {"X_3"}),
    ("search=0551", {"X_3"}),
    ("search=_", {"X_3"}),
    ("search=%25", set()),
    ("status=connected", {"ACC-1", "ACC-4"}),
    ("arrears_min=50", {"ACC-2", "X_3"}),
    ("arrears_min=10&arrears_max=100", {"ACC-1", "X_3"}),
    ("status=warned&search=efua", {"X_3"}),
    ("search=&status=&arrears_min=&arrears_max=60&page=1&limit=50", {"ACC-1", "ACC-4"}),
]


def test_search_and_filters(client, operator_headers, several):
    found = []
    for query, _ in SEARCHES:
        body = client.get(f"/api/customers/?{query}", headers=operator_headers).get_json()
        assert body["total"] == len(body["data"])
        found.append((query, {row["account_number"] for row in body["data"]}))
    assert found == SEARCHES


def test_pagination(client, operator_headers, several):
    first = client.get("/api/customers/?page=1&limit=3", headers=operator_headers).get_json()
    second = client.get("/api/customers/?page=2&limit=3", headers=operator_headers).get_json()
    assert {k: first[k] for k in ("total", "page", "limit", "pages")} == {"total": 4, "page": 1, "limit": 3, "pages": 2}
    assert len(first["data"]) == 3 and len(second["data"]) == 1
    assert first["data"][0]["account_number"] == "ACC-4", "newest first"
    assert {r["id"] for r in first["data"] + second["data"]} == {c["id"] for c in several}


def test_bad_list_parameters_are_a_422(client, operator_headers):
    for query in ("limit=101", "limit=0", "page=0", "page=abc", "status=gone", "arrears_min=-1", "date_from=yesterday"):
        response = client.get(f"/api/customers/?{query}", headers=operator_headers)
        assert (response.status_code, response.get_json()["detail"][0]["loc"][0]) == (422, "query"), query


@pytest.mark.parametrize("path", ["/api/customers/", "/api/actions/"])
def test_a_page_starts_at_most_the_hubs_max_offset_in(client, operator_headers, path):
    """The one bound of offset paging in the hub (core paging.MAX_OFFSET, 10,000,000 rows)."""
    last = client.get(f"{path}?page=100001&limit=100", headers=operator_headers)
    assert (last.status_code, last.get_json()["data"]) == (200, [])
    deeper = client.get(f"{path}?page=100002&limit=100", headers=operator_headers)
    assert (deeper.status_code, deeper.get_json()) == (422, {"detail": [{
        "loc": ["query", "page"], "msg": "A page may start at most 10000000 rows in: narrow the list instead.",
        "type": "value_error"}]})


def test_dashboard_counts_arrears_recent_actions_and_kpis(client, operator_headers, several, app):
    with app.app_context():
        now = utcnow()
        db.session.add_all(
            [CustomerAction(customer_id=several[1]["id"], action="disconnect", performed_by="t",
                            created_at=now - timedelta(days=days)) for days in (1, 2, 40)]
            + [CustomerAction(customer_id=several[0]["id"], action="connect", performed_by="t",
                              created_at=now - timedelta(days=45))])
        db.session.execute(Customer.__table__.update().where(Customer.id == several[0]["id"])
                           .values(created_at=now - timedelta(days=90)))
        db.session.commit()
    body = client.get("/api/customers/dashboard/data", headers=operator_headers).get_json()
    assert {k: body[k] for k in ("total_customers", "connected_customers", "disconnected_customers",
                                 "warned_customers", "total_arrears")} == {
        "total_customers": 4, "connected_customers": 2, "disconnected_customers": 1, "warned_customers": 1,
        "total_arrears": "335.50"}
    assert [a["action"] for a in body["recent_actions"]] == ["disconnect", "disconnect", "disconnect", "connect"]
    kpis = {kpi["title"]: kpi for kpi in body["kpis"]}
    assert kpis["Total Customers"] == {"title": "Total Customers", "value": "4", "change": 300.0, "is_positive": True}
    assert kpis["Disconnections (30 days)"] == {"title": "Disconnections (30 days)", "value": "2", "change": 100.0,
                                                "is_positive": False}
    assert kpis["Reconnections (30 days)"] == {"title": "Reconnections (30 days)", "value": "0", "change": -100.0,
                                               "is_positive": False}


def test_dashboard_of_an_empty_hub(client, operator_headers):
    body = client.get("/api/customers/dashboard/data", headers=operator_headers).get_json()
    assert (body["total_customers"], body["total_arrears"], body["recent_actions"]) == (0, "0.00", [])
    assert all(kpi["change"] == 0.0 for kpi in body["kpis"])


def test_null_in_an_optional_field_means_not_given(client, operator_headers, customer):
    created = client.post("/api/customers/", headers=operator_headers, json={
        "name": "Kofi", "account_number": "ACC-2", "phone": "0201234567", "status": None, "arrears": None})
    assert created.status_code == 201, created.get_json()
    assert (created.get_json()["status"], created.get_json()["arrears"]) == ("connected", "0.00")
    response = client.put(f"/api/customers/{customer['id']}", headers=operator_headers, json={
        "name": None, "account_number": None, "phone": None, "status": None, "arrears": "5"})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["name"], body["account_number"], body["phone"], body["status"], body["arrears"]) == (
        "Ama Mensah", "ACC-1001", "0241234567", "connected", "5.00")
    missing = client.post("/api/customers/", headers=operator_headers, json={
        "name": None, "account_number": "ACC-3", "phone": "0201234567"})
    assert missing.status_code == 422 and missing.get_json()["detail"][0]["loc"] == ["body", "name"]


def spellings(customer_id: str) -> list[str]:
    """The same id as clients and PostgreSQL's uuid type write it: upper case, without hyphens, in braces."""
    bare = customer_id.replace("-", "")
    return [customer_id.upper(), bare, bare.upper(), f"{{{customer_id}}}",
            "-".join(bare[n:n + 4] for n in range(0, 32, 4))]


def test_a_customer_is_found_by_its_id_written_any_way(client, operator_headers, customer, app):
    for spelling in spellings(customer["id"]):
        url = f"/api/customers/{spelling}"
        assert client.get(url, headers=operator_headers).get_json()["id"] == customer["id"], spelling
        changed = client.put(url, headers=operator_headers, json={"arrears": "7"})
        assert (changed.status_code, changed.get_json()["id"]) == (200, customer["id"]), spelling
    deleted = client.delete(f"/api/customers/{customer['id'].upper().replace('-', '')}", headers=operator_headers)
    assert deleted.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == 0


@pytest.mark.parametrize("odd", ["{" + "a" * 32, "a" * 31, "a" * 33, "g" * 32, "a" * 8 + "--" + "a" * 24,
                                 "\uff41" * 32, " " + "a" * 32])
def test_what_is_no_uuid_is_simply_not_found(client, operator_headers, customer, odd):
    response = client.get(f"/api/customers/{odd}", headers=operator_headers)
    assert (response.status_code, response.get_json()) == (404, {"detail": "Customer not found"})


def test_enum_values_are_accepted_in_any_case_and_stored_canonically(client, operator_headers, app):
    created = create_customer(client, operator_headers, status="Disconnected")
    assert created["status"] == "disconnected"
    changed = client.put(f"/api/customers/{created['id']}", headers=operator_headers, json={"status": " WARNED "})
    assert changed.get_json()["status"] == "warned"
    with app.app_context():
        assert db.session.scalar(select(Customer.status)) == "warned"
    for query in ("status=Warned", "status=WARNED", "status=warned"):
        found = client.get(f"/api/customers/?{query}", headers=operator_headers).get_json()
        assert [row["id"] for row in found["data"]] == [created["id"]], query
    refused = client.get("/api/customers/?status=warned\u0130", headers=operator_headers)
    assert refused.status_code == 422 and refused.get_json()["detail"][0]["loc"] == ["query", "status"]
