"""Fixtures of the Insight tests: an app whose Arkesel is a local HTTP server, and customers."""

from __future__ import annotations

import pytest

from tests.support.insight import ARKESEL_KEY, SENDER, create_customer
from tests.support.worker import Drainer


@pytest.fixture
def sms_app(make_app, httpserver):
    """The hub with SMS configured against `httpserver`, which plays Arkesel."""
    return make_app(ARKESEL_API_KEY=ARKESEL_KEY, ARKESEL_SENDER_ID=SENDER, ARKESEL_BASE_URL=httpserver.url_for(""))


@pytest.fixture
def sms_client(sms_app):
    return sms_app.test_client()


@pytest.fixture
def customer(client, operator_headers):
    return create_customer(client, operator_headers)


@pytest.fixture
def sms_worker(sms_app):
    """A real RQ worker running jobs with the SMS-configured app."""
    return Drainer(sms_app)
