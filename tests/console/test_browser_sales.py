"""The DTech sales journey in a real Chromium, signed in as an agent, against the hub served by gunicorn with a
real worker process and DTech's partner on loopback (its API checks every SigV4 signature, its storage is
HTTPS): a sale started from the console, stopped with a reason, and a recording uploaded from its page that
the worker delivers to DTech's storage (its PUT, Content-MD5 checked by the partner). Every page visited is
shot at 1280 and 360 px (tests/console/screenshots/).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.support import browser
from tests.support.console_hub import wait_for
from tests.support.dtech import AUDIO, LEAD, USER

pytestmark = pytest.mark.postgres_only  # the served hub, its worker and the test share PostgreSQL


def _start_form() -> dict[str, str]:
    """The start form's fields as it names them (`user.first_name`, `lead.phone_mobile`, ...)."""
    user = {f"user.{key}": value for key, value in USER.items()}
    lead = {f"lead.{key}": value for key, value in LEAD.items()}
    return {**user, **lead}


def test_a_sale_started_stopped_and_its_recording_uploaded_reaches_dtech(agent_page, dtech_partner, hub_worker):
    page = agent_page
    page.on("dialog", lambda dialog: dialog.accept())
    stored_before = set(dtech_partner.ledger.deliveries)
    page.goto("/console/sales")
    browser.shoot_fitting(page, "sales-list")
    page.get_by_role("link", name="Start a sale").click()
    expect(page.get_by_role("heading", name="Start a sale at DTech")).to_be_visible()
    for name, value in _start_form().items():
        page.locator(f"input[name='{name}']").fill(value)
    browser.shoot_fitting(page, "sales-start")
    page.get_by_role("button", name="Start the sale").click()
    expect(page).to_have_url(re.compile(r"/console/sales/sp-[0-9a-f]{32}$"))
    expect(page.get_by_role("status").filter(has_text="The sale is started at DTech.")).to_be_visible()
    expect(page.get_by_role("link", name="Open the sale at DTech")).to_have_attribute(
        "href", f"{dtech_partner.base_url}/agent")
    expect(page.get_by_role("heading", level=1)).to_contain_text("in_progress")
    browser.shoot_fitting(page, "sales-detail-started")

    stop = page.locator("form").filter(has=page.get_by_role("button", name="Stop the sale"))
    stop.get_by_label("Reason").fill("The lead asked to be called next week")
    stop.get_by_role("button", name="Stop the sale").click()
    expect(page.get_by_role("status").filter(has_text="The sale is stopped at DTech.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("stopped")
    expect(page.get_by_text("The lead asked to be called next week")).to_be_visible()
    assert any(call.path.startswith("/ext/stop/") for call in dtech_partner.received)

    upload = page.locator("form").filter(has=page.get_by_role("button", name="Upload", exact=True))
    upload.get_by_label("Recording (.wav or .mp3)").set_input_files(
        {"name": "call-1001.wav", "mimeType": "audio/wav", "buffer": AUDIO})
    upload.get_by_label("Call started (ISO 8601, UTC unless a zone is given)").fill("2026-11-22T08:00:00Z")
    upload.get_by_label("Call ended").fill("2026-11-22T08:12:30Z")
    upload.get_by_role("button", name="Upload", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Recording received")).to_be_visible()
    recordings = page.get_by_role("table").first
    expect(recordings).to_contain_text("call-1001.wav")
    browser.shoot_fitting(page, "sales-detail-uploaded")

    stored = wait_for(lambda: set(dtech_partner.ledger.deliveries) - stored_before, timeout=20,
                      what="the recording at DTech's storage")
    assert len(stored) == 1 and not dtech_partner.ledger.problems
    delivered = recordings.get_by_text("at DTech", exact=True)
    wait_for(lambda: page.reload() and delivered.count(), timeout=15, what="the page to show the recording at DTech")
    expect(recordings).to_contain_text(str(len(AUDIO)))
    browser.shoot_fitting(page, "sales-detail-delivered")
