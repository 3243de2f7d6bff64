"""Deliveries in a real Chromium, against the hub served by gunicorn with a real worker process and
SentraTech's dashboard played on loopback: a delivery failing at the peer shows its attempts, a replay from
the page delivers it, and a paused destination holds a new message until it is resumed.

The served hub retries a dashboard sync once, a second after a failure (tests/support/console_hub.py), so a
form the dashboard refuses is dead within seconds.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import OutboxMessage
from tests.support import browser
from tests.support.console_hub import post_form, wait_for

pytestmark = pytest.mark.postgres_only  # the served hub, its worker and the test share PostgreSQL

SYNC_KIND = "sentratech.dashboard_sync"


def _message(app, record_id: str) -> tuple[str, int] | None:
    """(status, attempts) of the sync message about `record_id`, None before there is one."""
    with app.app_context():
        found = db.session.execute(select(OutboxMessage.status, OutboxMessage.attempts)
                                   .where(OutboxMessage.subject_id == record_id)).first()
        db.session.rollback()
        return tuple(found) if found else None


def _accept_confirmations(page) -> None:
    """Say yes to the console's data-confirm questions (Playwright dismisses dialogs by default)."""
    page.on("dialog", lambda dialog: dialog.accept())


def test_a_failing_delivery_shows_its_attempts_and_a_replay_from_the_page_delivers_it(
        app, admin_page, dashboard, hub_worker, console_hub_server):
    page = admin_page
    _accept_confirmations(page)
    dashboard.set("fail")
    record = post_form(console_hub_server.url, "demo_requests")
    wait_for(lambda: (_message(app, record["id"]) or ("",))[0] == "dead", timeout=30,
             what="the failing sync to end dead")
    assert dashboard.ledger.deliveries[record["id"]] == 0

    page.goto(f"/console/deliveries?status=dead&kind={SYNC_KIND}")
    row = page.get_by_role("row").filter(has_text=record["id"])
    expect(row).to_have_count(1)
    expect(row.get_by_text("dead", exact=True)).to_be_visible()
    browser.shoot(page, "deliveries-dead")
    row.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(r"/console/deliveries/[0-9a-f-]{36}$"))
    attempts = page.get_by_role("table").last.get_by_role("row")
    expect(attempts).to_have_count(3)  # the header and two attempts
    expect(attempts.nth(1)).to_contain_text("503")
    expect(attempts.nth(2)).to_contain_text("dead")
    browser.shoot(page, "delivery-attempts")

    dashboard.set("ok")
    page.goto("/console/deliveries?status=dead")
    page.get_by_role("link", name=re.compile("Replay by this filter")).click()
    expect(page.get_by_role("heading", name="Replay by filter")).to_be_visible()
    expect(page.get_by_text("1 dead message(s)")).to_be_visible()
    browser.shoot(page, "replay-preview")
    page.get_by_role("button", name="Replay 1 message(s)").click()
    expect(page.get_by_role("status").filter(has_text="1")).to_be_visible()
    wait_for(lambda: dashboard.ledger.deliveries[record["id"]] >= 1, timeout=20,
             what="the replayed form at the dashboard")
    wait_for(lambda: _message(app, record["id"])[0] == "delivered", what="the message delivered")
    page.goto(f"/console/deliveries?subject_id={record['id']}")
    expect(page.get_by_role("row").filter(has_text=record["id"]).get_by_text("delivered", exact=True)).to_be_visible()


def test_pausing_a_destination_holds_a_new_message_and_resuming_delivers_it(
        app, admin_page, dashboard, hub_worker, console_hub_server):
    page = admin_page
    _accept_confirmations(page)
    page.goto("/console/deliveries")
    destinations = page.get_by_role("row").filter(has=page.get_by_role("link", name="dashboard", exact=True))
    destinations.get_by_label("Reason").fill("dashboard maintenance")
    destinations.get_by_role("button", name="Pause dashboard").click()
    paused = page.get_by_role("row").filter(has=page.get_by_role("link", name="dashboard", exact=True))
    expect(paused.get_by_text("paused", exact=True)).to_be_visible()
    expect(paused).to_contain_text("dashboard maintenance")
    browser.shoot(page, "destination-paused")

    record = post_form(console_hub_server.url, "contact_requests")
    wait_for(lambda: _message(app, record["id"]), what="the sync message")
    page.wait_for_timeout(2000)  # the worker had its chance: nothing may go while paused
    assert _message(app, record["id"]) == ("pending", 0)
    assert dashboard.ledger.deliveries[record["id"]] == 0

    page.reload()
    paused = page.get_by_role("row").filter(has=page.get_by_role("link", name="dashboard", exact=True))
    paused.get_by_role("button", name="Resume dashboard").click()
    wait_for(lambda: dashboard.ledger.deliveries[record["id"]] >= 1, timeout=20,
             what="the held form at the dashboard after resuming")
    resumed = page.get_by_role("row").filter(has=page.get_by_role("link", name="dashboard", exact=True))
    expect(resumed.get_by_text("active", exact=True)).to_be_visible()
