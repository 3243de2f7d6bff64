"""Actions: each commits with the customer's new status; a batch is all or nothing."""

import pytest
from sqlalchemy import func, select

from modules.core.extensions import db
from modules.insight.models import Customer, CustomerAction
from tests.support.insight import create_customer


def status_of(app, customer_id):
    with app.app_context():
        return db.session.get(Customer, customer_id).status


def action_count(app):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CustomerAction))


@pytest.mark.parametrize("action, status", [("disconnect", "disconnected"), ("warn", "warned"),
                                            ("connect", "connected")])
def test_an_action_changes_the_customers_status(client, operator_headers, customer, app, action, status):
    response = client.post("/api/actions/", headers=operator_headers,
                           json={"customer_id": customer["id"], "action": action})
    assert response.status_code == 201
    body = response.get_json()
    assert {k: body[k] for k in ("customer_id", "action", "performed_by", "source", "batch_id")} == {
        "customer_id": customer["id"], "action": action, "performed_by": "Test Operator", "source": "manual",
        "batch_id": None}
    assert body["timestamp"].endswith("Z")
    assert status_of(app, customer["id"]) == status


def test_a_forged_performed_by_is_accepted_but_the_operator_is_recorded(client, operator_headers, customer, app):
    body = client.post("/api/actions/", headers=operator_headers, json={
        "customer_id": customer["id"], "action": "warn", "performed_by": "Field Team 4", "source": "batch",
        "batch_id": "june-list"}).get_json()
    assert (body["performed_by"], body["source"], body["batch_id"]) == ("Test Operator", "batch", "june-list")
    batch = client.post("/api/actions/batch", headers=operator_headers, json=[
        {"customer_id": customer["id"], "action": "disconnect", "performed_by": "The Director"},
        {"customer_id": customer["id"], "action": "connect", "performed_by": None}])
    assert batch.status_code == 201
    with app.app_context():
        stored = db.session.scalars(select(CustomerAction.performed_by)).all()
    assert stored == ["Test Operator"] * 3


@pytest.mark.parametrize("body, status", [
    ({"customer_id": "nobody", "action": "warn"}, 404),
    ({"action": "warn"}, 422),
    ({"customer_id": "x", "action": "explode"}, 422),
    ({"customer_id": "x", "action": "warn", "source": "robot"}, 422),
])
def test_invalid_actions_store_nothing(client, operator_headers, customer, app, body, status):
    assert client.post("/api/actions/", headers=operator_headers, json=body).status_code == status
    assert action_count(app) == 0 and status_of(app, customer["id"]) == "connected"


def test_lists_are_newest_first_and_paginated(client, operator_headers, customer):
    other = create_customer(client, operator_headers, account_number="ACC-2")
    for target, action in ((customer, "warn"), (other, "warn"), (customer, "disconnect")):
        client.post("/api/actions/", headers=operator_headers, json={"customer_id": target["id"], "action": action})
    page = client.get("/api/actions/?page=1&limit=2", headers=operator_headers).get_json()
    assert (page["total"], page["pages"], [a["action"] for a in page["data"]]) == (3, 2, ["disconnect", "warn"])
    mine = client.get(f"/api/actions/customer/{customer['id']}", headers=operator_headers).get_json()
    assert [a["action"] for a in mine["data"]] == ["disconnect", "warn"]
    warned = client.get("/api/actions/?action=warn", headers=operator_headers).get_json()
    assert warned["total"] == 2
    assert client.get("/api/actions/customer/nobody", headers=operator_headers).status_code == 404


def test_a_batch_records_every_action_and_the_last_status_wins(client, operator_headers, customer, app):
    other = create_customer(client, operator_headers, account_number="ACC-2")
    response = client.post("/api/actions/batch", headers=operator_headers, json=[
        {"customer_id": customer["id"], "action": "warn"},
        {"customer_id": other["id"], "action": "disconnect", "source": "batch", "batch_id": "b-7"},
        {"customer_id": customer["id"], "action": "disconnect"},
    ])
    assert response.status_code == 201
    body = response.get_json()
    assert body["created"] == 3 and len(set(body["action_ids"])) == 3
    with app.app_context():
        stored = set(db.session.scalars(select(CustomerAction.id)))
    assert stored == set(body["action_ids"])
    assert status_of(app, customer["id"]) == "disconnected" and status_of(app, other["id"]) == "disconnected"


@pytest.mark.parametrize("body, status", [
    ([{"customer_id": "CUSTOMER", "action": "warn"}, {"customer_id": "missing-1", "action": "warn"}], 404),
    ([{"customer_id": "CUSTOMER", "action": "warn"}, {"customer_id": "CUSTOMER", "action": "nap"}], 422),
    ([], 422),
    ({"customer_id": "CUSTOMER", "action": "warn"}, 422),
    ([{"customer_id": "CUSTOMER", "action": "warn"}] * 1001, 422),
])
def test_a_batch_is_all_or_nothing(client, operator_headers, customer, app, body, status):
    if isinstance(body, list):
        body = [{**item, "customer_id": item["customer_id"].replace("CUSTOMER", customer["id"])} for item in body]
    else:
        body = {**body, "customer_id": customer["id"]}
    response = client.post("/api/actions/batch", headers=operator_headers, json=body)
    assert response.status_code == status
    if status == 404:
        assert response.get_json() == {"detail": {"error_code": "CUSTOMER_NOT_FOUND", "message": (
            "1 customer(s) not found; no action was recorded."), "details": {"customer_ids": ["missing-1"]}}}
    assert action_count(app) == 0 and status_of(app, customer["id"]) == "connected"


def test_deleting_a_customer_deletes_their_actions(client, operator_headers, customer, app):
    client.post("/api/actions/", headers=operator_headers, json={"customer_id": customer["id"], "action": "warn"})
    client.delete(f"/api/customers/{customer['id']}", headers=operator_headers)
    assert action_count(app) == 0


def test_enum_values_in_any_case_are_recorded_canonically(client, operator_headers, customer, app):
    one = client.post("/api/actions/", headers=operator_headers,
                      json={"customer_id": customer["id"], "action": "WARN", "source": "Manual"})
    assert one.status_code == 201, one.get_json()
    assert (one.get_json()["action"], one.get_json()["source"]) == ("warn", "manual")
    batch = client.post("/api/actions/batch", headers=operator_headers, json=[
        {"customer_id": customer["id"], "action": "Disconnect", "source": "BATCH", "batch_id": "b-1"}])
    assert batch.status_code == 201, batch.get_json()
    with app.app_context():
        stored = db.session.execute(select(CustomerAction.action, CustomerAction.source)
                                    .order_by(CustomerAction.action)).all()
    assert [tuple(row) for row in stored] == [("disconnect", "batch"), ("warn", "manual")]
    assert status_of(app, customer["id"]) == "disconnected"
    for query in ("action=WARN", "action=Warn&source=MANUAL"):
        listed = client.get(f"/api/actions/?{query}", headers=operator_headers).get_json()
        assert [item["action"] for item in listed["data"]] == ["warn"], query


def test_a_customer_id_written_any_way_finds_the_customer(client, operator_headers, customer, app):
    upper, bare = customer["id"].upper(), customer["id"].replace("-", "")
    one = client.post("/api/actions/", headers=operator_headers, json={"customer_id": upper, "action": "warn"})
    assert (one.status_code, one.get_json()["customer_id"]) == (201, customer["id"])
    batch = client.post("/api/actions/batch", headers=operator_headers, json=[
        {"customer_id": bare, "action": "disconnect"}, {"customer_id": f"{{{upper}}}", "action": "connect"}])
    assert batch.status_code == 201, batch.get_json()
    with app.app_context():
        assert set(db.session.scalars(select(CustomerAction.customer_id))) == {customer["id"]}
    assert status_of(app, customer["id"]) == "connected"
    history = client.get(f"/api/actions/customer/{upper}", headers=operator_headers)
    assert (history.status_code, history.get_json()["total"]) == (200, 3)
    missing = client.post("/api/actions/batch", headers=operator_headers, json=[
        {"customer_id": upper, "action": "warn"}, {"customer_id": "not-a-uuid", "action": "warn"},
        {"customer_id": "00000000-0000-4000-8000-00000000000A", "action": "warn"}])
    assert missing.get_json()["detail"]["details"] == {
        "customer_ids": ["00000000-0000-4000-8000-00000000000A", "not-a-uuid"]}
    assert action_count(app) == 3
