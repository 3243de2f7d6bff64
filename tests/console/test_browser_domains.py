"""One journey per office domain in a real Chromium, against the hub served by gunicorn with a real worker
process and the partners on loopback (tests/support/console_hub.py), signed in through the form as an
operator: a link created and followed shows its click; a SentraTech form refused by the dashboard shows
failed with its answer and a re-sync from its page delivers it; a FASTCore lead changes status and its audit
trail shows it; a spreadsheet with two bad rows shows both errors, a corrected one processes and the
customers list shows them. Every page visited is shot at 1280 and 360 px (tests/console/screenshots/).
"""

from __future__ import annotations

import re

import pytest
import requests
from openpyxl import Workbook
from playwright.sync_api import expect
from sqlalchemy import select

from modules.core.extensions import db
from modules.sentratech.forms import FORMS
from modules.sentratech.models import FAILED, SYNCED
from tests.support import browser
from tests.support.console_hub import post_form, wait_for
from tests.support.fastcore import SITE, lead_body

pytestmark = pytest.mark.postgres_only  # the served hub, its worker and the test share PostgreSQL

UPLOAD_COLUMNS = ("name", "account_number", "phone", "arrears")


def _accept_confirmations(page) -> None:
    """Say yes to the console's data-confirm questions (Playwright dismisses dialogs by default)."""
    page.on("dialog", lambda dialog: dialog.accept())


def _sync_status(app, record_id: str) -> str | None:
    model = FORMS["demo_requests"].model
    with app.app_context():
        found = db.session.execute(select(model.sync_status).where(model.id == record_id)).scalar()
        db.session.rollback()
        return found


def test_a_link_created_and_followed_shows_its_click_and_chart(operator_page, console_hub_server, hub_worker):
    page = operator_page
    page.goto("/console/links")
    browser.shoot_fitting(page, "links-list")
    page.get_by_label("Destination (an absolute http or https URL)").fill("https://jobs.example.com/apply?id=42")
    page.get_by_label("Tracking id (optional: lt_<random> when empty)").fill("journey-cv")
    page.get_by_role("button", name="Create link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("journey-cv")
    expect(page.locator("[data-figure=total_clicks]")).to_have_text("0")
    tracking_url = page.locator("#tracking-url").input_value()
    assert tracking_url == f"{console_hub_server.url}/track/journey-cv"
    browser.shoot_fitting(page, "links-detail-new")
    expect(page.locator("[data-live-status]").first).to_be_visible()  # the live stream is open

    followed = requests.get(tracking_url, headers={"Referer": "https://news.example.org/jobs"},
                            allow_redirects=False, timeout=10)
    assert followed.status_code == 302 and followed.headers["Location"] == "https://jobs.example.com/apply?id=42"
    expect(page.locator("#link-clicks")).to_contain_text("news.example.org", timeout=15_000)  # live, no reload

    page.reload()
    expect(page.locator("[data-figure=total_clicks]")).to_have_text("1")
    chart = page.locator("figure.chart img")
    page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=chart.element_handle())
    svg = page.request.get(chart.get_attribute("src")).text()
    assert re.search(r'class="value[^"]*"[^>]*>1<', svg), "the chart shows no bar of 1 click"
    expect(page.get_by_role("table").filter(has_text="Top referrers")).to_contain_text("https://news.example.org/jobs")
    browser.shoot_fitting(page, "links-detail-clicked")


def test_a_form_the_dashboard_refused_shows_failed_and_a_resync_from_its_page_delivers_it(
        app, operator_page, dashboard, hub_worker, console_hub_server):
    page = operator_page
    _accept_confirmations(page)
    dashboard.set("fail")
    record = post_form(console_hub_server.url, "demo_requests")
    page.goto("/console/forms?form=demo")
    row = page.locator(f"tr:has(a[href$='/{record['id']}'])")
    expect(row).to_have_count(1, timeout=15_000)
    browser.shoot_fitting(page, "forms-list")
    wait_for(lambda: _sync_status(app, record["id"]) == FAILED, timeout=30, what="the refused form to fail")
    page.goto("/console/forms?form=demo&state=failed")
    expect(row.locator(".badge")).to_have_text("failed")
    expect(row).to_contain_text("HTTP 503")
    browser.shoot_fitting(page, "forms-failed")

    row.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("failed")
    expect(page.get_by_role("table").first).to_contain_text("503")
    browser.shoot_fitting(page, "forms-record-failed")
    assert dashboard.ledger.deliveries[record["id"]] == 0

    dashboard.set("ok")
    page.get_by_role("button", name="Re-sync: send it to the dashboard again").click()
    expect(page.get_by_role("status").filter(has_text="Queued for the dashboard again.")).to_be_visible()
    wait_for(lambda: dashboard.ledger.deliveries[record["id"]] >= 1, timeout=20, what="the form at the dashboard")
    wait_for(lambda: _sync_status(app, record["id"]) == SYNCED, what="the record synced")
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_contain_text("synced")
    browser.shoot_fitting(page, "forms-record-synced")


def test_a_lead_changes_status_and_its_audit_trail_shows_it(operator_page, field_operator, console_hub_server):
    page = operator_page
    answer = requests.post(f"{console_hub_server.url}/inbound/leads", json=lead_body(name="Jeanne Journey"),
                           headers=SITE, timeout=10)
    assert answer.status_code == 201, answer.text
    lead_id = answer.json()["leadId"]
    page.goto("/console/leads")
    row = page.get_by_role("row").filter(has_text="Jeanne Journey")
    expect(row).to_have_count(1)
    browser.shoot_fitting(page, "leads-list")
    row.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(f"/console/leads/{lead_id}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("received")
    browser.shoot_fitting(page, "leads-detail")

    change_form = page.get_by_role("form", name="Change the status")
    change_form.get_by_role("combobox").select_option("processing")
    change_form.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("status").filter(has_text="The lead is now processing.")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("processing")
    change = page.get_by_role("row").filter(has_text="lead.status_changed")
    expect(change).to_have_count(1)
    expect(change).to_contain_text(f"operator:{field_operator}")
    expect(change).to_contain_text("processing")
    browser.shoot_fitting(page, "leads-detail-changed")


def _workbook(path, rows) -> str:
    book = Workbook()
    sheet = book.active
    sheet.append(UPLOAD_COLUMNS)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return str(path)


def test_a_spreadsheet_with_two_bad_rows_shows_both_and_the_corrected_one_processes(
        operator_page, tmp_path):
    page = operator_page
    _accept_confirmations(page)
    good = [("Ama Mensah", "ACC-J1", "0241234567", 120.5), ("Kofi Boateng", "ACC-J2", "0201234567", 0)]
    bad = [("Esi Owusu", "ACC-J3", "not a phone", 10), ("Yaw Asante", "ACC-J4", "0551234567", "lots")]
    page.goto("/console/customers/upload")
    browser.shoot_fitting(page, "upload-form")
    page.get_by_label("Spreadsheet").set_input_files(_workbook(tmp_path / "customers.xlsx", [*good, *bad]))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name=re.compile("4 row\\(s\\), 2 with errors"))).to_be_visible()
    errors = page.locator(".row-errors li")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("Row 4, phone")
    expect(errors.nth(1)).to_contain_text("Row 5, arrears")
    expect(page.get_by_role("button", name=re.compile("^Process"))).to_have_count(0)
    browser.shoot_fitting(page, "upload-errors")

    fixed = [*good, ("Esi Owusu", "ACC-J3", "0271234567", 10), ("Yaw Asante", "ACC-J4", "0551234567", 75)]
    page.get_by_label("Spreadsheet").set_input_files(_workbook(tmp_path / "customers-fixed.xlsx", fixed))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name=re.compile("4 row\\(s\\), 0 with errors"))).to_be_visible()
    browser.shoot_fitting(page, "upload-valid")
    page.get_by_role("button", name="Process 4 row(s)").click()
    expect(page.get_by_text(re.compile("^Processed as batch"))).to_be_visible()
    browser.shoot_fitting(page, "upload-processed")

    page.goto("/console/customers")
    for name, account, *_ in fixed:
        expect(page.get_by_role("row").filter(has_text=account)).to_contain_text(name)
    expect(page.get_by_role("row").filter(has_text="ACC-J4")).to_contain_text("75.00")
    browser.shoot_fitting(page, "customers-list")
