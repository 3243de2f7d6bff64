"""What Insight's tests share: Arkesel's test key and sender, and creating a customer through the API."""

from __future__ import annotations

ARKESEL_KEY = "test-arkesel-key"
SENDER = "InsightTest"


def create_customer(client, headers, **fields) -> dict:
    """POST a valid customer (`fields` override its values); returns the 201's body."""
    body = {"name": "Ama Mensah", "account_number": "ACC-1001", "phone": "0241234567", "arrears": "120.50", **fields}
    response = client.post("/api/customers/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()
