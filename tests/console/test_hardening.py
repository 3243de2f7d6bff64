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


def _cursor(created_at: str, message_id: str) -> str:
    import base64
    return base64.urlsafe_b64encode(f"{created_at}|{message_id}".encode()).decode().rstrip("=")


@pytest.mark.parametrize("query", ("subject_id=a%00b", "idempotency_key=k%00", "kind=a%00", "destination=a%00",
                                   "after=" + _cursor("2026-11-30T18:25:08+00:00", "x\x00y"),
                                   "since=2026-01-01%00", "status=dead%00"))
def test_a_nul_in_a_deliveries_filter_is_a_4xx_page(admin_client, query):
    """On PostgreSQL a NUL reached the database: the CSV answered 200 and broke after its header line."""
    exports = ("", "&format=csv") if not query.startswith("after=") else ("",)  # a CSV has no cursor
    for fmt in exports:
        answer = admin_client.get(f"/console/deliveries?{query}{fmt}")
        assert 400 <= answer.status_code < 500, (query, fmt, answer.status_code)


@pytest.mark.parametrize("query", ("actor=a%00", "subject=%00", "action=x%00", "domain=%00",
                                   "after=" + _cursor("2026-11-30T18:25:08+00:00", "1\x00")))
def test_a_nul_in_an_audit_filter_is_a_4xx_page(admin_client, query):
    assert 400 <= admin_client.get(f"/console/audit?{query}").status_code < 500, query


def test_a_nul_in_a_sign_in_is_refused_not_a_500(app, admin):
    answer = sign_in(app.test_client(), "admin@example.com\x00")
    assert answer.status_code in (401, 422)
