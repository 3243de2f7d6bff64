"""Faults found by breaking the domain pages with messy data and double submits: each test shows one, and
failed before its fix."""

from __future__ import annotations

import io
import re

from openpyxl import load_workbook
from sqlalchemy import select

from modules.core.extensions import db
from modules.insight.models import SmsMessage
from tests.console import test_customer_pages as customer_pages
from tests.console.conftest import csrf_token
from tests.console.test_upload_pages import post_review, upload
from tests.support.insight import arkesel_accepts, arkesel_balance

# The hub with SMS against a local Arkesel, and three customers, as the customer pages' tests have them.
app, people, page_of = customer_pages.app, customer_pages.people, customer_pages.page_of

CONTROL_ROWS = ("name,account_number,phone,arrears\n"
                "A\x01da\x0b,ACC-3,0241234567,12\n"
                "Ama Mensah,AC\x02C-4,02412\x1f34567,1\x042\n")


def test_the_results_of_a_file_with_control_characters_download_with_them_escaped(operator_client):
    reviewed = upload(operator_client, CONTROL_ROWS.encode(), "customers.csv").get_data(as_text=True)
    answer = post_review(operator_client, "results", reviewed)
    assert answer.status_code == 200
    rows = list(load_workbook(io.BytesIO(answer.data)).active.iter_rows(values_only=True))
    assert [row[:5] for row in rows[1:]] == [("2", "A\\x01da", "ACC-3", "0241234567", "12.00"),
                                             ("3", "Ama Mensah", "AC\\x02C-4", "02412\\x1f34567", "1\\x042")]
    assert all(row[5] == "error" for row in rows[1:])


def sms_sent(app) -> list[str]:
    with app.app_context():
        return [sms.message for sms in db.session.scalars(select(SmsMessage))]


def test_a_template_sms_sent_twice_from_one_preview_is_queued_once(app, operator_client, people, httpserver):
    ama = people["ama"]["id"]
    preview = page_of(operator_client, f"/console/customers/{ama}/sms", template="warning")
    arkesel_accepts(httpserver)
    form = {"csrf_token": csrf_token(preview), "template": "warning", "confirm": "1",
            "previewed": re.search(r'name="previewed" value="([^"]+)"', preview).group(1),
            "once": re.search(r'name="once" value="([^"]+)"', preview).group(1)}
    first = operator_client.post(f"/console/customers/{ama}/sms", data=form)
    again = operator_client.post(f"/console/customers/{ama}/sms", data=form, follow_redirects=True)
    assert first.status_code == 303 and again.status_code == 200
    assert "already sent" in again.get_data(as_text=True)
    assert len(sms_sent(app)) == 1


def test_a_bulk_sms_confirmed_twice_is_queued_once(
        app, operator_client, people, httpserver):
    arkesel_balance(httpserver)
    arkesel_accepts(httpserver)
    preview = page_of(operator_client, "/console/customers/sms-bulk", message="Office closed on Friday.")
    form = {"csrf_token": csrf_token(preview), "message": "Office closed on Friday.", "confirm": "1",
            "once": re.search(r'name="once" value="([^"]+)"', preview).group(1)}
    assert operator_client.post("/console/customers/sms-bulk", data=form).status_code == 303
    again = operator_client.post("/console/customers/sms-bulk", data=form, follow_redirects=True)
    assert "already sent" in again.get_data(as_text=True)
    assert sms_sent(app) == ["Office closed on Friday."]
