"""Signing in to the console: the cookie, the sign-in's row and its ends (sign-out, idle and absolute
timeouts, deactivation, a new password), CSRF, the throttle, safe return paths and the page headers."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from modules.core.extensions import db
from modules.core.models import AuditEntry, ConsoleSession
from tests.console.conftest import PASSWORD, csrf_token, sign_in


def _page(client, path="/console/overview"):
    return client.get(path)


def test_a_visitor_is_sent_to_sign_in_and_back_to_the_page_asked_for(app, admin):
    client = app.test_client()
    asked = client.get("/console/overview?x=1")
    assert asked.status_code == 303 and asked.headers["Location"] == "/console/login?next=/console/overview?x%3D1"
    signed = sign_in(client, "admin@example.com", next_page="/console/overview?x=1")
    assert signed.status_code == 303 and signed.headers["Location"] == "/console/overview?x=1"
    page = client.get("/console/overview")
    assert page.status_code == 200 and "Overview" in page.get_data(as_text=True)


def test_the_cookie_is_httponly_lax_scoped_to_the_console_and_apis_set_none(app, admin):
    client = app.test_client()
    login_page = client.get("/console/login")
    cookie = login_page.headers["Set-Cookie"]
    assert cookie.startswith("hub_console=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/console" in cookie and "Secure" not in cookie
    assert "Set-Cookie" not in client.get("/health").headers
    assert "Set-Cookie" not in client.post("/api/auth/login", json={"email": "admin@example.com",
                                                                    "password": PASSWORD}).headers


def test_the_cookie_is_secure_in_production(make_app, base_config):
    app = make_app(APP_ENV="production")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert "Secure" in app.test_client().get("/console/login").headers["Set-Cookie"]


def test_a_wrong_password_signs_nobody_in(app, admin):
    client = app.test_client()
    refused = sign_in(client, "admin@example.com", "not-the-password")
    assert refused.status_code == 401 and "Incorrect e-mail or password." in refused.get_data(as_text=True)
    assert _page(client).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(ConsoleSession)).all() == []


def test_sign_in_is_throttled_like_the_api(make_app):
    app = make_app(LOGIN_ADDRESS_RATE_LIMIT="3/5minutes")
    client = app.test_client()
    answers = [sign_in(client, "nobody@example.com", "wrong-password").status_code for _ in range(4)]
    assert answers == [401, 401, 401, 429]
    throttled = sign_in(client, "nobody@example.com", "wrong-password")
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in throttled.get_data(as_text=True)


def test_sign_in_and_out_are_audited_and_sign_out_ends_the_cookie_everywhere(app, admin, admin_client):
    stolen = admin_client.get_cookie("hub_console", path="/console").value
    page = _page(admin_client).get_data(as_text=True)
    out = admin_client.post("/console/logout", data={"csrf_token": csrf_token(page)})
    assert out.status_code == 303 and out.headers["Location"] == "/console/login"
    assert _page(admin_client).status_code == 303
    replayed = app.test_client()
    replayed.set_cookie("hub_console", stolen, path="/console")
    assert _page(replayed).status_code == 303, "a copy of the cookie must not outlive the sign-out"
    with app.app_context():
        events = db.session.scalars(select(AuditEntry.event).where(AuditEntry.subject_id == admin)).all()
    assert events == ["console.signed_in", "console.signed_out"]


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(app, admin_client):
    refused = admin_client.post("/console/logout")
    assert refused.status_code == 400 and "CSRF token" in refused.get_data(as_text=True)
    wrong = admin_client.post("/console/logout", data={"csrf_token": "forged"})
    assert wrong.status_code == 400
    assert _page(admin_client).status_code == 200, "still signed in"


def test_the_sign_in_form_needs_its_csrf_token_too(app, admin):
    client = app.test_client()
    client.get("/console/login")
    refused = client.post("/console/login", data={"email": "admin@example.com", "password": PASSWORD})
    assert refused.status_code == 400 and _page(client).status_code == 303


def _age_sessions(app, **ages: timedelta) -> None:
    with app.app_context():
        row = db.session.scalars(select(ConsoleSession)).one()
        values = {column: getattr(row, column) - age for column, age in ages.items()}
        db.session.execute(update(ConsoleSession).values(**values))
        db.session.commit()


def test_an_idle_sign_in_ends(app, admin_client):
    _age_sessions(app, last_seen_at=timedelta(minutes=29))
    assert _page(admin_client).status_code == 200, "29 minutes idle is within CONSOLE_IDLE_MINUTES=30"
    _age_sessions(app, last_seen_at=timedelta(minutes=31))
    assert _page(admin_client).status_code == 303
    with app.app_context():
        assert db.session.scalars(select(ConsoleSession)).all() == []


def test_a_busy_sign_in_still_ends_after_its_absolute_lifetime(app, admin_client):
    _age_sessions(app, created_at=timedelta(hours=11, minutes=59))
    assert _page(admin_client).status_code == 200
    _age_sessions(app, created_at=timedelta(minutes=2))
    assert _page(admin_client).status_code == 303, "CONSOLE_SESSION_HOURS=12 holds however active"


def test_deactivation_ends_the_sign_in_at_once(app, runner, admin_client):
    assert runner.invoke(args=["operators", "deactivate", "admin@example.com"]).exit_code == 0
    assert _page(admin_client).status_code == 303
    assert sign_in(app.test_client(), "admin@example.com").status_code == 401


def test_a_one_time_link_sets_a_password_once_and_ends_other_sign_ins(app, runner, admin_client):
    printed = runner.invoke(args=["operators", "reset-link", "admin@example.com"])
    assert printed.exit_code == 0
    link = printed.output.strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:5001/console/reset/[\w.-]+", link)
    path = link.removeprefix("http://127.0.0.1:5001")
    visitor = app.test_client()
    form = visitor.get(path)
    assert form.status_code == 200 and "admin@example.com" in form.get_data(as_text=True)
    token = csrf_token(form.get_data(as_text=True))
    short = visitor.post(path, data={"csrf_token": token, "password": "short", "repeat": "short"})
    assert short.status_code == 422 and "at least 8 characters" in short.get_data(as_text=True)
    differ = visitor.post(path, data={"csrf_token": token, "password": "a-new-password", "repeat": "another-one"})
    assert differ.status_code == 422 and "differ" in differ.get_data(as_text=True)
    done = visitor.post(path, data={"csrf_token": token, "password": "a-new-password", "repeat": "a-new-password"})
    assert done.status_code == 200 and "Your password is set" in done.get_data(as_text=True)
    assert _page(admin_client).status_code == 303, "a new password ends every other sign-in"
    assert visitor.get(path).status_code == 404, "the link works once"
    assert sign_in(app.test_client(), "admin@example.com").status_code == 401
    assert sign_in(app.test_client(), "admin@example.com", "a-new-password").status_code == 303


def test_a_forged_or_foreign_reset_link_is_refused(app, admin):
    assert app.test_client().get("/console/reset/not-a-token").status_code == 404


def test_return_paths_never_leave_the_console(app, admin):
    for target in ("https://evil.example/", "//evil.example/console", "/api/admin/outbox", "javascript:alert(1)"):
        client = app.test_client()
        answer = sign_in(client, "admin@example.com", next_page=target)
        assert answer.headers["Location"] == "/console/overview", target


def test_console_pages_carry_a_strict_policy_and_no_inline_script_or_style(app, admin_client):
    page = _page(admin_client)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    assert page.headers["X-Frame-Options"] == "DENY"
    html = page.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script"
    assert not re.search(r"\sstyle=|\son[a-z]+=", html), "an inline style or event handler"
    assert admin_client.get("/console/static/console/console.js").status_code == 200


def test_a_role_change_holds_from_the_next_page(app, runner, field_operator, operator_client):
    assert '<span class="role">operator</span>' in _page(operator_client).get_data(as_text=True)
    assert runner.invoke(args=["operators", "set-role", "field@example.com", "admin"]).exit_code == 0
    assert '<span class="role">admin</span>' in _page(operator_client).get_data(as_text=True)


def test_unknown_console_paths_answer_an_html_404(app, admin_client):
    missing = admin_client.get("/console/nothing-here")
    assert missing.status_code == 404 and missing.mimetype == "text/html"


def test_a_pages_own_background_requests_do_not_keep_an_idle_sign_in_alive(app, admin_client):
    """A tab left open refreshes its live regions and reconnects its stream by itself: that is not the
    person, so the idle timeout still ends the sign-in; a page they open restarts it."""
    _age_sessions(app, last_seen_at=timedelta(minutes=20))
    refresh = admin_client.get("/console/overview/live?part=records", headers={"X-Requested-With": "fetch"})
    assert refresh.status_code == 200
    _age_sessions(app, last_seen_at=timedelta(minutes=11))
    assert _page(admin_client).status_code == 303, "20 + 11 idle minutes, the refresh in between not counted"


def test_a_page_the_person_opens_restarts_the_idle_time(app, admin_client):
    _age_sessions(app, last_seen_at=timedelta(minutes=20))
    assert _page(admin_client).status_code == 200
    _age_sessions(app, last_seen_at=timedelta(minutes=11))
    assert _page(admin_client).status_code == 200
