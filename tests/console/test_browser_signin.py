"""The console in a real Chromium against the hub served by gunicorn: signing in and out, roles, CSRF, the
Content-Security-Policy, no request leaving 127.0.0.1, and screenshots at 1280 and 360 px.

Every test's page is watched (tests/console/conftest.py `page`): a request off 127.0.0.1, a CSP violation
or a script error fails it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from modules.core import auth
from modules.core.extensions import db
from modules.core.models import AuditEntry
from tests.console.conftest import ADMIN_EMAIL, browser_sign_in
from tests.support import browser, console_hub

pytestmark = pytest.mark.postgres_only  # the served hub, its worker and the test share PostgreSQL, as in production

ADMIN_PAGES = ("/console/deliveries", "/console/operators")
# Admin actions an operator might forge with a valid CSRF token of their own: (path, form).
ADMIN_ACTIONS = (
    ("/console/operators", {"email": "forged@example.com", "name": "Forged", "role": "admin",
                            "password": "correct-horse-battery"}),
    ("/console/deliveries/replay", {"confirm": "1"}),
    ("/console/deliveries/destinations/dashboard/pause", {"reason": "forged"}),
)


def nav_labels(page) -> list[str]:
    return page.get_by_role("navigation", name="Console").get_by_role("link").all_inner_texts()


def test_signing_in_through_the_form_shows_the_overview(page, admin):
    page.goto("/console/overview")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/console/overview$"))
    browser.shoot(page, "login")
    browser_sign_in(page, ADMIN_EMAIL)
    expect(page).to_have_url(re.compile(r"/console/overview$"))
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    browser.shoot(page, "overview")
    page.set_viewport_size({"width": 360, "height": browser.HEIGHT})
    assert not browser.overflows_horizontally(page), "the overview scrolls sideways at 360 px"


def test_every_page_of_the_navigation_opens_and_fits_360_px(admin_page):
    page = admin_page
    links = page.get_by_role("navigation", name="Console").get_by_role("link")
    paths = [links.nth(index).get_attribute("href") for index in range(links.count())]
    assert "/console/overview" in paths
    for path in paths:
        assert page.goto(path).status == 200, path
        browser.shoot(page, "page-" + path.removeprefix("/console/").replace("/", "-"))
        page.set_viewport_size({"width": 360, "height": browser.HEIGHT})
        assert not browser.overflows_horizontally(page), f"{path} scrolls sideways at 360 px"
        page.set_viewport_size({"width": browser.WIDTHS[0], "height": browser.HEIGHT})


def test_a_wrong_password_shows_the_error_and_keeps_the_email(page, admin):
    browser_sign_in(page, ADMIN_EMAIL, password="not-the-password")
    expect(page.get_by_role("alert")).to_have_text("Incorrect e-mail or password.")
    expect(page.get_by_label("E-mail")).to_have_value(ADMIN_EMAIL)
    expect(page).to_have_url(re.compile(r"/console/login$"))
    browser.shoot(page, "login-error")


def test_an_admin_sees_the_admin_pages_in_the_navigation(admin_page):
    assert {"Overview", "Deliveries", "Operators"} <= set(nav_labels(admin_page))


def test_an_operator_neither_sees_nor_opens_the_admin_pages(operator_page):
    page = operator_page
    labels = nav_labels(page)
    assert "Overview" in labels and "Deliveries" not in labels and "Operators" not in labels
    for path in ADMIN_PAGES:
        response = page.goto(path)
        assert response.status == 403, path
        expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    browser.shoot(page, "forbidden")


def audit_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEntry))


def test_an_operator_cannot_forge_an_admin_action(operator_page, app):
    token = operator_page.locator("form.signout input[name=csrf_token]").get_attribute("value")
    audited = audit_count(app)
    for path, form in ADMIN_ACTIONS:
        answer = operator_page.request.post(path, form={**form, "csrf_token": token}, max_redirects=0)
        assert answer.status == 403, path
    assert audit_count(app) == audited, "a refused admin action was audited"
    with app.app_context():
        assert auth.find_operator("forged@example.com") is None


def test_a_form_posted_without_its_csrf_token_is_refused(admin_page):
    page = admin_page
    page.evaluate("document.querySelector('form.signout input[name=csrf_token]').remove()")
    with page.expect_response(re.compile(r"/console/logout$")) as answer:
        page.get_by_role("button", name="Sign out").click()
    assert answer.value.status == 400
    expect(page.get_by_role("alert")).to_contain_text("CSRF token is missing or wrong")
    browser.shoot(page, "csrf-refused")
    assert page.goto("/console/overview").status == 200, "the refused sign-out left the session signed in"
    forged = page.request.post("/console/logout", form={}, max_redirects=0)
    assert forged.status == 400, "a POST with the session cookie but no token"
    assert page.goto("/console/overview").url.endswith("/console/overview")


def test_signing_out_ends_the_session(admin_page):
    page = admin_page
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/console/login$"))
    page.goto("/console/overview")
    expect(page).to_have_url(re.compile(r"/console/login\?next=/console/overview$"))


def test_the_console_loads_everything_from_127_0_0_1(admin_page):
    page = admin_page
    page.reload()  # the load event: the stylesheet and the (deferred) script are in
    loaded = page.watch.requests
    assert any(url.endswith("/console/static/console/console.css") for url in loaded), loaded
    assert any(url.endswith("/console/static/console/console.js") for url in loaded), loaded
    assert page.watch.foreign_requests() == []


def test_an_inline_script_is_refused_by_the_csp_and_reported(admin_page):
    page = admin_page
    page.evaluate("""() => {
        const script = document.createElement('script');
        script.textContent = 'window.inlineRan = true';
        document.body.append(script);
    }""")
    console_hub.wait_for(lambda: page.watch.csp_violations, timeout=5, what="the CSP violation message")
    assert page.evaluate("window.inlineRan === undefined"), "an inline script ran on a console page"
    page.watch.csp_violations.clear()  # seen on purpose: the page fixture fails a test on any other


def test_a_form_posted_through_the_ingest_api_reaches_the_dashboard(console_hub_server, hub_worker, dashboard, app):
    record = console_hub.post_form(console_hub_server.url, "demo_requests")
    console_hub.wait_for(lambda: dashboard.ledger.deliveries[record["id"]] == 1, what="the dashboard's copy")
    assert dashboard.ledger.problems == []

