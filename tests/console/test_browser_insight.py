"""The Insight journey in a real Chromium, signed in as an operator, against the hub served by gunicorn with a
real worker process and Arkesel on loopback: an SMS sent from a template on a customer's page (the preview
shows the final text and its segments), delivered by the worker to Arkesel with the hub's callback URL, and
Arkesel's delivery receipt to that URL marks it delivered on the page. Every page visited is shot at 1280 and
360 px (tests/console/screenshots/).
"""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from modules.core import auth
from modules.core.extensions import db
from tests.support import browser
from tests.support.console_hub import wait_for

pytestmark = pytest.mark.postgres_only  # the served hub, its worker and the test share PostgreSQL

RECIPIENT = "233241234567"  # 0241234567 in Ghana, as the hub sends it


def _create_customer(app, hub_url: str) -> dict:
    """A customer created through the API with an admin's token (the page under test starts from it)."""
    with app.app_context():
        writer = auth.create_operator("writer@example.com", "correct-horse-battery", "Writer", role="admin")
        db.session.commit()
        token = auth.issue_access_token(writer)["access_token"]
    body = {"name": "Ama Mensah", "account_number": "ACC-SMS1", "phone": "0241234567", "arrears": "120.50"}
    created = requests.post(f"{hub_url}/api/customers/", json=body, headers={"Authorization": f"Bearer {token}"},
                            timeout=10)
    assert created.status_code == 201, created.text
    return created.json()


def test_an_sms_from_a_template_is_sent_and_its_receipt_marks_it_delivered(
        app, operator_page, arkesel_peer, hub_worker, console_hub_server):
    page = operator_page
    page.on("dialog", lambda dialog: dialog.accept())
    customer = _create_customer(app, console_hub_server.url)
    page.goto("/console/customers")
    browser.shoot_fitting(page, "customers-kpis")
    page.get_by_role("link", name="Ama Mensah").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ama Mensah")
    browser.shoot_fitting(page, "customer-detail")

    sms_form = page.locator("form").filter(has=page.get_by_role("button", name="Preview…"))
    sms_form.get_by_role("combobox").select_option("warning")
    sms_form.get_by_role("button", name="Preview…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send the warning SMS")
    text = page.locator("[data-preview]").inner_text()
    assert "Ama Mensah" in text and "120.50" in text, text
    expect(page.locator("[data-segments]")).to_have_text("1 SMS")
    browser.shoot_fitting(page, "customer-sms-preview")
    page.get_by_role("button", name="Send it").click()
    expect(page.get_by_role("status").filter(has_text="Its delivery shows below")).to_be_visible()

    sent = wait_for(lambda: [each for each in arkesel_peer.sent if each.body.get("recipients") == [RECIPIENT]],
                    timeout=20, what="the SMS at Arkesel")
    assert len(sent) == 1 and sent[0].body["message"] == text
    callback = sent[0].body["callback_url"]
    assert callback.startswith(f"{console_hub_server.url}/api/sms/receipts/")
    status = page.locator("[data-sms-status]").first
    wait_for(lambda: page.reload() and status.inner_text() == "sent", what="the page to show the SMS sent")
    browser.shoot_fitting(page, "customer-sms-sent")

    receipt = requests.post(callback, json={"sms_id": sent[0].ids[RECIPIENT], "status": "DELIVERED"}, timeout=10)
    assert receipt.status_code == 200, receipt.text
    page.reload()
    expect(status).to_have_text("delivered")
    expect(page.get_by_role("row").filter(has=status)).to_contain_text("DELIVERED")
    assert customer["id"] in page.url
    browser.shoot_fitting(page, "customer-sms-delivered")
