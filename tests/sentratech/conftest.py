"""Fixtures of the SentraTech tests: a local dashboard peer (values the tests send: tests/support/sentratech.py)."""

from __future__ import annotations

import pytest

from tests.support.sentratech import SVC_EMAIL, SVC_PASSWORD


@pytest.fixture
def dashboard_app(make_app, httpserver):
    """An app whose dashboard is the local `httpserver`, with a service account."""
    return make_app(DASHBOARD_BASE_URL=httpserver.url_for("/"), SVC_EMAIL=SVC_EMAIL, SVC_PASSWORD=SVC_PASSWORD)
