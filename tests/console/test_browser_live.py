"""Live updates in a real Chromium: the overview shows a form just posted through the ingest API, and the
delivery's outcome, without a reload (server-sent events through Redis pub/sub from the served hub and its
worker process)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support import browser
from tests.support.console_hub import post_form

pytestmark = pytest.mark.postgres_only  # the served hub, its worker and the test share PostgreSQL


def test_the_overview_shows_a_form_just_posted_without_a_reload(admin_page, dashboard, hub_worker,
                                                                 console_hub_server):
    page = admin_page
    page.goto("/console/overview")
    sentratech = page.locator("#overview-records").get_by_role("row").filter(has_text="SentraTech")
    expect(sentratech.get_by_role("cell").first).to_have_text("0")
    expect(page.locator("[data-live-status]").first).to_be_visible()  # the stream is open
    page.evaluate("window.notReloaded = true")

    post_form(console_hub_server.url, "demo_requests")
    expect(sentratech.get_by_role("cell").first).to_have_text("1", timeout=15_000)
    expect(sentratech.get_by_role("cell").nth(1)).to_have_text("1")
    assert page.evaluate("window.notReloaded === true"), "the page was reloaded"
    browser.shoot(page, "overview-live")
