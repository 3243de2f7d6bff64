"""The console against a hostile or careless visitor: return paths that would climb out of /console, and
other inputs found while trying to break it (each test names what it guards)."""

from __future__ import annotations

import pytest

from tests.console.conftest import sign_in

# Each climbs out of /console once a browser resolves its dot segments (percent-encoded dots and
# backslashes included, as the URL standard reads them): to /track/<id>, a link's redirect elsewhere.
CLIMBING_PATHS = ("/console/../track/spring-cv", "/console/%2e%2e/track/x", "/console/%2E./track/x",
                  "/console/.%2e/x", "/console/..\\track/x", "/console/..%5Ctrack/x", "/console/a/../../x",
                  "/console/./../x", "/consolefoo", "/console\\..\\x")


@pytest.mark.parametrize("target", CLIMBING_PATHS)
def test_a_return_path_cannot_climb_out_of_the_console(app, admin, target):
    answer = sign_in(app.test_client(), "admin@example.com", next_page=target)
    assert answer.status_code == 303 and answer.headers["Location"] == "/console/overview", target


@pytest.mark.parametrize("target", ("/console/deliveries?status=dead", "/console/audit", "/console"))
def test_a_console_return_path_is_kept(app, admin, target):
    answer = sign_in(app.test_client(), "admin@example.com", next_page=target)
    assert answer.headers["Location"] == target


@pytest.mark.parametrize("path", ("/console/overview", "/console/deliveries", "/console/audit", "/console/operators",
                                  "/console/overview/live?part=records", "/console/login", "/console/nowhere"))
def test_console_pages_are_never_stored_by_the_browser(admin_client, path):
    """After sign-out on a shared computer, Back or the disk cache must not show operators, e-mails or
    deliveries again."""
    assert "no-store" in admin_client.get(path).headers.get("Cache-Control", ""), path


def test_the_consoles_own_scripts_and_styles_stay_cacheable(admin_client):
    answer = admin_client.get("/console/static/console/console.css")
    assert answer.status_code == 200 and "no-store" not in answer.headers.get("Cache-Control", "")
