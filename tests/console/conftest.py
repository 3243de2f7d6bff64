"""Console fixtures: operators of each role and a signed-in test client (the browser tests have their own
fixtures in browser.py)."""

from __future__ import annotations

import re

import pytest

from modules.core import auth
from modules.core.extensions import db

PASSWORD = "correct-horse-battery"


def csrf_token(page_html: str) -> str:
    """The CSRF token of the first form of a console page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', page_html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def create(app, email: str, role: str) -> str:
    with app.app_context():
        operator = auth.create_operator(email, PASSWORD, email.split("@")[0].title(), role=role)
        db.session.commit()
        return operator.id


def sign_in(client, email: str, password: str = PASSWORD, next_page: str | None = None):
    token = csrf_token(client.get("/console/login").get_data(as_text=True))
    form = {"email": email, "password": password, "csrf_token": token}
    if next_page:
        form["next"] = next_page
    return client.post("/console/login", data=form)


@pytest.fixture
def admin(app):
    return create(app, "admin@example.com", "admin")


@pytest.fixture
def field_operator(app):
    return create(app, "field@example.com", "operator")


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    assert sign_in(client, "admin@example.com").status_code == 303
    return client


@pytest.fixture
def operator_client(app, field_operator):
    client = app.test_client()
    assert sign_in(client, "field@example.com").status_code == 303
    return client
