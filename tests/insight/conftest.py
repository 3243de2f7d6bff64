"""Fixtures of the Insight tests: an app whose Arkesel is a local HTTP server, and customers."""

from __future__ import annotations

import pytest

ARKESEL_KEY = "test-arkesel-key"
SENDER = "InsightTest"


@pytest.fixture
def sms_app(make_app, httpserver):
    """The hub with SMS configured against `httpserver`, which plays Arkesel."""
    return make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""))


@pytest.fixture
def sms_client(sms_app):
    return sms_app.test_client()


def create_customer(client, headers, **fields):
    body = {"name": "Ama Mensah", "account_number": "ACC-1001", "phone": "0241234567", "arrears": "120.50", **fields}
    response = client.post("/api/customers/", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def customer(client, operator_headers):
    return create_customer(client, operator_headers)


@pytest.fixture
def sms_worker(sms_app):
    """A real RQ worker running jobs with the SMS-configured app."""
    from tests.conftest import Drainer

    return Drainer(sms_app)
