"""The operators pages: list, create (with a password or a one-time link), change role, deactivate and
reactivate, reset password, the last-admin guard, admin-only access and CSRF."""

from __future__ import annotations

import html
import logging
import re

import pytest
from sqlalchemy import func, select

from modules.core.extensions import db
from modules.core.models import AuditEntry, Operator
from tests.console.conftest import PASSWORD, create, csrf_token, sign_in


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def post(client, url: str, form_page: str, **data):
    """POST `data` to `url` with the CSRF token of the page at `form_page`."""
    return client.post(url, data={"csrf_token": csrf_token(page_of(client, form_page)), **data})


def create_operator(client, **form):
    return post(client, "/console/operators", "/console/operators",
                **{"email": "new@example.com", "name": "New One", "role": "operator", "password": "", **form})


def one_time_link(page: str) -> str:
    found = re.search(r'name="link" value="([^"]+)"', page)
    assert found, "the page shows no link"
    return html.unescape(found.group(1))


def operator_row(app, email: str) -> Operator | None:
    with app.app_context():
        operator = db.session.scalar(select(Operator).where(Operator.email == email))
        if operator is not None:
            db.session.expunge(operator)
        return operator


def operator_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Operator))


def api_token(client, email: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_the_list_shows_each_operator_with_their_open_sign_ins(app, admin, field_operator, admin_client):
    second = app.test_client()
    assert sign_in(second, "admin@example.com").status_code == 303
    page = page_of(admin_client, "/console/operators")
    rows = re.findall(r"<tr>(.*?)</tr>", page, re.S)
    admin_row = next(row for row in rows if "admin@example.com" in row)
    field_row = next(row for row in rows if "field@example.com" in row)
    assert ">admin<" in admin_row and ">active<" in admin_row and 'class="num">2<' in admin_row
    assert ">operator<" in field_row and "Field" in field_row and 'class="num">0<' in field_row


def test_create_with_a_password_then_they_sign_in(app, admin_client):
    response = create_operator(admin_client, email="New@Example.com", password="long-enough-password")
    assert response.status_code == 303 and response.location.endswith("/console/operators")
    listed = page_of(admin_client, "/console/operators")
    assert "Operator new@example.com created with the role operator." in listed
    newcomer = app.test_client()
    assert sign_in(newcomer, "new@example.com", "long-enough-password").status_code == 303
    assert newcomer.get("/console/overview").status_code == 200
    assert newcomer.get("/console/operators").status_code == 403, "created with the operator role"


def test_create_without_a_password_shows_a_link_that_works_once(app, admin_client):
    response = create_operator(admin_client, role="admin")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    link = one_time_link(response.get_data(as_text=True))
    assert "shown only now" in response.get_data(as_text=True)
    assert link.startswith("http://") and "/console/reset/" in link
    assert link not in page_of(admin_client, "/console/operators"), "shown once"
    path = "/console/reset/" + link.split("/console/reset/")[1]
    newcomer = app.test_client()
    form = newcomer.get(path)
    assert form.status_code == 200 and "new@example.com" in form.get_data(as_text=True)
    done = newcomer.post(path, data={"csrf_token": csrf_token(form.get_data(as_text=True)),
                                     "password": "a-brand-new-secret", "repeat": "a-brand-new-secret"})
    assert done.status_code == 200 and "Your password is set" in done.get_data(as_text=True)
    assert sign_in(newcomer, "new@example.com", "a-brand-new-secret").status_code == 303
    assert newcomer.get("/console/operators").status_code == 200, "created as an admin"
    again = app.test_client().get(path)
    assert again.status_code == 404 and "already used" in again.get_data(as_text=True)


@pytest.mark.parametrize("form, message", [
    ({"email": "not-an-address"}, "Not a valid e-mail address"),
    ({"email": ""}, "Give the operator&#39;s e-mail address."),
    ({"password": "short"}, "Use at least 8 characters"),
    ({"role": "owner"}, "Unknown role &#39;owner&#39;"),
    ({"email": "FIELD@example.com"}, "An operator with the e-mail field@example.com exists."),
    ({"name": "x" * 201}, "The name has more than 200 characters."),
    ({"name": "a\x00b"}, "must not contain NUL"),
    ({"email": "a\x00b@example.com"}, "Not a valid e-mail address"),
])
def test_a_refused_creation_re_renders_the_form_with_a_422(app, field_operator, admin_client, form, message):
    before = operator_count(app)
    response = create_operator(admin_client, **form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and message in page, page
    assert 'name="email"' in page and "Create an operator" in page
    assert operator_count(app) == before


def test_a_role_change_holds_from_the_operators_next_page(app, field_operator, operator_client, admin_client):
    assert operator_client.get("/console/audit").status_code == 403
    account = f"/console/operators/{field_operator}"
    response = post(admin_client, f"{account}/role", account, role="admin")
    assert response.status_code == 303
    assert "field@example.com now has the role admin." in page_of(admin_client, account)
    assert operator_client.get("/console/audit").status_code == 200
    bad = post(admin_client, f"{account}/role", account, role="owner")
    assert bad.status_code == 422 and "Unknown role" in bad.get_data(as_text=True)
    assert operator_row(app, "field@example.com").role == "admin"


def test_deactivation_ends_their_console_sign_in_and_api_token_and_reactivation_lets_them_back(
        app, field_operator, operator_client, admin_client):
    headers = api_token(app.test_client(), "field@example.com")
    assert app.test_client().get("/api/customers/", headers=headers).status_code == 200
    account = f"/console/operators/{field_operator}"
    assert 'data-confirm="Deactivate field@example.com?' in page_of(admin_client, account)
    assert post(admin_client, f"{account}/active", account, active="0").status_code == 303
    sent_away = operator_client.get("/console/overview")
    assert sent_away.status_code == 303 and "/console/login" in sent_away.location
    assert app.test_client().get("/api/customers/", headers=headers).status_code == 401
    assert sign_in(app.test_client(), "field@example.com").status_code == 401
    assert "deactivated" in page_of(admin_client, "/console/operators")
    assert post(admin_client, f"{account}/active", account, active="1").status_code == 303
    assert app.test_client().get("/api/customers/", headers=headers).status_code == 401, "old tokens stay dead"
    assert sign_in(app.test_client(), "field@example.com").status_code == 303


def test_reset_password_shows_a_one_time_link_once(app, field_operator, admin_client):
    account = f"/console/operators/{field_operator}"
    response = post(admin_client, f"{account}/reset-link", account)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    link = one_time_link(response.get_data(as_text=True))
    assert link not in page_of(admin_client, account)
    path = "/console/reset/" + link.split("/console/reset/")[1]
    visitor = app.test_client()
    token = csrf_token(visitor.get(path).get_data(as_text=True))
    assert visitor.post(path, data={"csrf_token": token, "password": "another-password",
                                    "repeat": "another-password"}).status_code == 200
    assert sign_in(app.test_client(), "field@example.com", "another-password").status_code == 303
    assert sign_in(app.test_client(), "field@example.com").status_code == 401, "the old password is gone"
    assert app.test_client().get(path).status_code == 404


def test_a_deactivated_operator_gets_no_reset_link(app, field_operator, admin_client):
    account = f"/console/operators/{field_operator}"
    post(admin_client, f"{account}/active", account, active="0")
    refused = post(admin_client, f"{account}/reset-link", account)
    assert refused.status_code == 422 and "reactivate them first" in refused.get_data(as_text=True)
    from_shell = app.test_cli_runner().invoke(args=["operators", "reset-link", "field@example.com"])
    assert from_shell.exit_code != 0 and "reactivate them first" in from_shell.output


def test_the_last_active_admin_is_neither_deactivated_nor_demoted(app, admin, field_operator, admin_client):
    account = f"/console/operators/{admin}"
    for path, form in (("active", {"active": "0"}), ("role", {"role": "operator"})):
        refused = post(admin_client, f"{account}/{path}", account, **form)
        assert refused.status_code == 422 and "the last active admin is refused" in refused.get_data(as_text=True)
    row = operator_row(app, "admin@example.com")
    assert row.is_active and row.role == "admin"
    assert admin_client.get("/console/operators").status_code == 200
    promote = f"/console/operators/{field_operator}"
    assert post(admin_client, f"{promote}/role", promote, role="admin").status_code == 303
    stepped_down = post(admin_client, f"{account}/role", account, role="operator")
    assert stepped_down.status_code == 303 and stepped_down.location.endswith("/console/overview")
    assert admin_client.get("/console/operators").status_code == 403


def test_an_inactive_admin_does_not_count_as_the_other_admin(app, admin, admin_client):
    other = create(app, "other@example.com", "admin")
    other_account = f"/console/operators/{other}"
    assert post(admin_client, f"{other_account}/active", other_account, active="0").status_code == 303
    account = f"/console/operators/{admin}"
    assert post(admin_client, f"{account}/active", account, active="0").status_code == 422


def test_unknown_operator_is_a_404_page(admin_client):
    assert admin_client.get("/console/operators/no-such-id").status_code == 404
    assert admin_client.get("/console/operators/a%00b").status_code == 404
    response = post(admin_client, "/console/operators/no-such-id/active", "/console/operators", active="0")
    assert response.status_code == 404


def operator_pages(admin_id: str) -> list[tuple[str, str, dict]]:
    account = f"/console/operators/{admin_id}"
    return [("GET", "/console/audit", {}), ("GET", "/console/audit?format=csv", {}),
            ("GET", "/console/operators", {}), ("GET", account, {}),
            ("POST", "/console/operators", {"email": "x@example.com", "role": "admin", "password": "long-enough-pw"}),
            ("POST", f"{account}/role", {"role": "operator"}), ("POST", f"{account}/active", {"active": "0"}),
            ("POST", f"{account}/reset-link", {})]


def test_an_operator_gets_403_on_every_audit_and_operators_url(app, admin, operator_client):
    token = csrf_token(page_of(operator_client, "/console/overview"))
    for method, url, form in operator_pages(admin):
        if method == "GET":
            response = operator_client.get(url)
        else:
            response = operator_client.post(url, data={"csrf_token": token, **form})
        assert response.status_code == 403, (method, url, response.status_code)
    row = operator_row(app, "admin@example.com")
    assert row.is_active and row.role == "admin" and operator_row(app, "x@example.com") is None
    nav = page_of(operator_client, "/console/overview")
    assert "/console/audit" not in nav and "/console/operators" not in nav


def test_a_post_without_csrf_token_is_400_and_changes_nothing(app, admin, field_operator, admin_client):
    for method, url, form in operator_pages(field_operator):
        if method == "POST":
            assert admin_client.post(url, data=form).status_code == 400, url
    row = operator_row(app, "field@example.com")
    assert row.is_active and row.role == "operator" and operator_row(app, "x@example.com") is None
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(AuditEntry)
                                     .where(AuditEntry.event.like("operator.%")))


def test_console_and_cli_share_one_account_service(app, runner, admin_client):
    assert create_operator(admin_client, email="shared@example.com", password="long-enough-password").status_code == 303
    result = runner.invoke(args=["operators", "create", "SHARED@example.com", "--password", "long-enough-password"])
    assert result.exit_code != 0 and "An operator with the e-mail shared@example.com exists." in result.output
    assert runner.invoke(args=["operators", "set-role", "shared@example.com", "admin"]).exit_code == 0
    with app.app_context():
        actors = db.session.execute(select(AuditEntry.event, AuditEntry.actor)
                                    .where(AuditEntry.event.like("operator.%")).order_by(AuditEntry.id)).all()
    assert [event for event, _ in actors] == ["operator.created", "operator.role_changed"]
    assert actors[0][1].startswith("operator:") and actors[1][1] == "cli"


def test_no_email_reaches_a_log_line(app, field_operator, admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    create_operator(admin_client, email="secret-person@example.com")
    create_operator(admin_client, email="secret-person@example.com")
    account = f"/console/operators/{field_operator}"
    post(admin_client, f"{account}/reset-link", account)
    post(admin_client, f"{account}/active", account, active="0")
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert "secret-person" not in logged and "field@example.com" not in logged
