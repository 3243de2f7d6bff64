"""What Insight's tests share: Arkesel's test key and sender, Arkesel's answers (played by pytest-httpserver),
and creating a customer through the API."""

from __future__ import annotations

ARKESEL_KEY = "test-arkesel-key"
SENDER = "InsightTest"
SEND = "/api/v2/sms/send"
BALANCE = "/api/v2/clients/balance-details"


def create_customer(client, headers, **fields) -> dict:
    """POST a valid customer (`fields` override its values); returns the 201's body."""
    body = {"name": "Ama Mensah", "account_number": "ACC-1001", "phone": "0241234567", "arrears": "120.50", **fields}
    response = client.post("/api/customers/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def arkesel_accepts(httpserver, recipients=("233241234567",)):
    """Arkesel accepts every send, answering the id `ark-<recipient>` for each of `recipients`."""
    httpserver.expect_request(SEND, method="POST").respond_with_json(
        {"status": "success", "data": [{"recipient": r, "id": f"ark-{r}"} for r in recipients]})


def arkesel_balance(httpserver, sms_balance="100000"):
    """Arkesel's answer to a balance look-up with the right key: `sms_balance` SMS, a string as Arkesel gives it."""
    httpserver.expect_request(BALANCE, method="GET", headers={"api-key": ARKESEL_KEY}).respond_with_json(
        {"status": "success", "data": {"sms_balance": sms_balance, "main_balance": "GHS 20.99"}})


def sends(httpserver) -> list:
    """The SMS sends Arkesel received (werkzeug requests), in order; balance look-ups left out."""
    return [request for request, _ in httpserver.log if request.path == SEND]
