"""Console fixtures: operators of each role and a signed-in test client; for the browser tests, the hub served
over HTTP with a worker and the partners' peers (tests/support/console_hub.py), one Chromium per
module and a fresh page per test (tests/support/browser.py).

Browser tests run in the PostgreSQL half of `make test` only (mark them `postgres_only`): the served hub,
its worker and the test share the database as in production, and the suite runs them once.
"""

from __future__ import annotations

import re

import pytest

from modules.core import auth
from modules.core.extensions import db
from tests.support import browser, console_hub

PASSWORD = "correct-horse-battery"
ADMIN_EMAIL = "admin@example.com"
OPERATOR_EMAIL = "field@example.com"
AGENT_EMAIL = "agent@example.com"


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
    return create(app, ADMIN_EMAIL, "admin")


@pytest.fixture
def field_operator(app):
    return create(app, OPERATOR_EMAIL, "operator")


@pytest.fixture
def admin_client(app, admin):
    client = app.test_client()
    assert sign_in(client, ADMIN_EMAIL).status_code == 303
    return client


@pytest.fixture
def operator_client(app, field_operator):
    client = app.test_client()
    assert sign_in(client, OPERATOR_EMAIL).status_code == 303
    return client


@pytest.fixture(scope="session")
def dashboard_peer():
    """SentraTech's dashboard on loopback: `dashboard_peer.set("fail")` makes it answer 503 and store nothing,
    `set("ok")` heals it; `dashboard_peer.ledger.deliveries[record_id]` counts what it stored."""
    peer = console_hub.start_dashboard()
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def dtech_partner(tmp_path_factory):
    """DTech's API and HTTPS recording storage on loopback, answering every call of a sale;
    `dtech_partner.ledger.deliveries[recording_id]` counts the recordings the storage received."""
    partner = console_hub.start_dtech(tmp_path_factory.mktemp("dtech-ca") / "ca.pem")
    yield partner
    partner.stop()


@pytest.fixture(scope="session")
def arkesel_peer():
    """Arkesel on loopback; `arkesel_peer.sent` lists the SMS it accepted, with their callback URLs."""
    peer = console_hub.start_arkesel()
    yield peer
    peer.stop()


@pytest.fixture(scope="session")
def console_settings(base_config, migrated, dashboard_peer, dtech_partner, arkesel_peer,
                     tmp_path_factory) -> dict[str, object]:
    return console_hub.hub_settings(base_config, dashboard_peer, dtech_partner, arkesel_peer,
                                    tmp_path_factory.mktemp("dtech-recordings"))


@pytest.fixture(scope="session")
def console_hub_server(console_settings, tmp_path_factory):
    """The hub under gunicorn for the browser: `.url`, its output in `.log_path`."""
    server = console_hub.serve_hub(console_settings, tmp_path_factory.mktemp("console-hub") / "gunicorn.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hub_worker(console_settings, tmp_path_factory):
    """A real worker process delivering the outbox (to `dashboard_peer` for SentraTech's forms), for the tests
    of one module: it takes jobs from the suite's one Redis, so it must not outlive the browser tests and
    take the jobs of tests that drain their queue in-process (tests/support/worker.py)."""
    worker = console_hub.HubWorker(console_settings, tmp_path_factory.mktemp("hub-worker") / "worker.log")
    yield worker
    worker.stop()


@pytest.fixture
def dashboard(dashboard_peer):
    """The dashboard peer, answering normally at the start and at the end of the test."""
    dashboard_peer.set("ok")
    yield dashboard_peer
    dashboard_peer.set("ok")


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium per test module (a launch takes about a second). Not one per session: while
    Playwright's sync API runs, its event loop counts as running in the main thread, and `asyncio.run` in
    any later test would fail. Without Debian's chromium the tests fail (never skip)."""
    from playwright.sync_api import sync_playwright

    problem = browser.chromium_problem()
    if problem:
        pytest.fail(problem, pytrace=False)
    with sync_playwright() as playwright:
        launched = browser.launch(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(console_hub_server, chromium, app):
    """A fresh page (its own cookies) on the served hub, 1280 px wide; `page.goto("/console/login")` works.
    The test fails if the page requested anything off 127.0.0.1, broke its CSP or threw a script error.
    `app` (the test's app) empties the tables and Redis after the test."""
    context = chromium.new_context(base_url=console_hub_server.url,
                                   viewport={"width": browser.WIDTHS[0], "height": browser.HEIGHT})
    context.set_default_timeout(10_000)
    watch = browser.PageWatch().attach(context)
    opened = context.new_page()
    opened.watch = watch
    yield opened
    context.close()
    assert not watch.problems(), watch.problems()


def browser_sign_in(page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the console's form, as a person would, and wait until the answer's page has loaded (a
    test acting at once would otherwise act on the sign-in page while its POST is still being answered)."""
    page.goto("/console/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():  # the overview (or `next`), or the sign-in page again with its error
        page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def admin_page(page, admin):
    """A page signed in as an admin (ADMIN_EMAIL), on the overview."""
    browser_sign_in(page, ADMIN_EMAIL)
    return page


@pytest.fixture
def operator_page(page, field_operator):
    """A page signed in as an operator (OPERATOR_EMAIL, not admin), on the overview."""
    browser_sign_in(page, OPERATOR_EMAIL)
    return page


@pytest.fixture
def agent_page(page, app):
    """A page signed in as an agent (AGENT_EMAIL: DTech sales only), on the overview."""
    create(app, AGENT_EMAIL, "agent")
    browser_sign_in(page, AGENT_EMAIL)
    return page
