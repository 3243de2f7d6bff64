"""Requests racing over real HTTP (a threaded server, one connection each): every answer is the contract's,
never a 500, and the stored rows say what the answers said."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from modules.core.extensions import db
from modules.insight.models import Customer, SmsTemplate
from tests.support.insight import ARKESEL_KEY, SENDER

DUPLICATE = "CUSTOMER_ALREADY_EXISTS"


@pytest.fixture
def app(make_app, httpserver):
    """The live server's app, with SMS configured (nothing is sent: no worker runs here)."""
    return make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""))


def race(calls):
    """Run the calls (functions of nothing) at once: all wait at a barrier, then go together."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def poster(url, headers, body, method="POST"):
    return lambda: requests.request(method, url, json=body, headers=headers, timeout=60)


def customer_body(account, name="Ama Mensah"):
    return {"name": name, "account_number": account, "phone": "0241234567", "arrears": "1"}


def accounts(app):
    with app.app_context():
        return sorted(db.session.scalars(select(Customer.account_number)))


def test_creating_the_same_customer_at_once_is_one_201_and_409s(app, live_server, operator_headers):
    for round_number in range(3):
        account = f"RACE-{round_number}"
        answers = race([poster(f"{live_server}/api/customers/", operator_headers, customer_body(account))] * 8)
        assert sorted(answer.status_code for answer in answers) == [201] + [409] * 7
        assert {answer.json()["detail"]["error_code"] for answer in answers if answer.status_code == 409} == {
            DUPLICATE}
        assert [answer.json() for answer in answers if answer.status_code == 409][0] == {"detail": {
            "error_code": DUPLICATE, "message": f"A customer with account number {account} already exists.",
            "details": {"account_number": account}}}
    assert accounts(app) == ["RACE-0", "RACE-1", "RACE-2"]


def test_taking_one_account_number_at_once_by_create_and_updates_is_one_success(app, live_server,
                                                                               operator_headers):
    ids = [requests.post(f"{live_server}/api/customers/", json=customer_body(f"OLD-{n}"), headers=operator_headers,
                         timeout=30).json()["id"] for n in range(4)]
    for round_number in range(5):
        wanted = {"account_number": f"NEW-{round_number}"}
        calls = [poster(f"{live_server}/api/customers/{customer_id}", operator_headers, wanted, "PUT")
                 for customer_id in ids]
        calls += [poster(f"{live_server}/api/customers/", operator_headers, customer_body(f"NEW-{round_number}"))] * 2
        answers = race(calls)
        assert sorted(answer.status_code for answer in answers) in ([200] + [409] * 5, [201] + [409] * 5)
        assert {answer.json()["detail"]["error_code"] for answer in answers if answer.status_code == 409} == {
            DUPLICATE}
        assert accounts(app).count(f"NEW-{round_number}") == 1


def test_a_batch_and_the_api_creating_the_same_customers_at_once_count_them_exactly(app, live_server,
                                                                                   operator_headers):
    for round_number in range(3):
        rows = [customer_body(f"BOTH-{round_number}-{n}", name="Kofi Boateng") for n in range(10)]
        calls = [poster(f"{live_server}/api/upload/process-batch", operator_headers, {"data": rows, "action": "warn"})]
        calls += [poster(f"{live_server}/api/customers/", operator_headers, row) for row in rows]
        batch, *creates = race(calls)
        assert batch.status_code == 200, batch.text
        assert sorted({answer.status_code for answer in creates} - {201, 409}) == []
        created_by_api = sum(answer.status_code == 201 for answer in creates)
        assert (batch.json()["customers_created"], batch.json()["customers_updated"]) == (
            10 - created_by_api, created_by_api)
    assert accounts(app) == sorted(f"BOTH-{round_number}-{n}" for round_number in range(3) for n in range(10))
    with app.app_context():
        assert set(db.session.scalars(select(Customer.status))) == {"warned"}


def test_the_first_edits_of_a_template_at_once_all_succeed_and_one_wins(app, live_server, operator_headers):
    texts = [f"Dear {{name}}, please pay {{amount}} (wording {n})." for n in range(8)]
    answers = race([poster(f"{live_server}/api/sms/templates/warning", operator_headers, {"message": text}, "PUT")
                    for text in texts])
    assert [answer.status_code for answer in answers] == [200] * 8
    with app.app_context():
        [stored] = db.session.scalars(select(SmsTemplate)).all()
    assert (stored.action, stored.updated_by) == ("warning", "Test Operator")
    assert stored.message in texts
    listed = requests.get(f"{live_server}/api/sms/templates", headers=operator_headers, timeout=30).json()
    assert listed[0]["message"] == stored.message



def test_using_a_customer_while_it_is_deleted_is_a_404_never_a_500(app, live_server, operator_headers):
    for round_number in range(4):
        url = f"{live_server}/api/customers/"
        customer_id = requests.post(url, json=customer_body(f"GONE-{round_number}"), headers=operator_headers,
                                    timeout=30).json()["id"]
        gone = {"error_code": "CUSTOMER_NOT_FOUND", "message": "1 customer(s) not found; no action was recorded.",
                "details": {"customer_ids": [customer_id]}}
        answers = race([
            poster(f"{url}{customer_id}", operator_headers, None, "DELETE"),
            poster(f"{url}{customer_id}", operator_headers, {"arrears": "5"}, "PUT"),
            poster(f"{live_server}/api/actions/", operator_headers, {"customer_id": customer_id, "action": "warn"}),
            poster(f"{live_server}/api/actions/batch", operator_headers,
                   [{"customer_id": customer_id, "action": "disconnect"}]),
            poster(f"{live_server}/api/sms/send", operator_headers, {"customer_id": customer_id, "message": "Hi"}),
            poster(f"{live_server}/api/sms/send/warning/{customer_id}", operator_headers, None),
        ])
        deleted, *others = answers
        assert deleted.status_code == 200
        for answer, success in zip(others, (200, 201, 201, 200, 200), strict=True):
            assert answer.status_code in (success, 404), answer.text
            if answer.status_code == 404:
                assert answer.json()["detail"] in ("Customer not found", gone)
