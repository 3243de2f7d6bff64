"""The console's Insight customers pages (operators and admins): the list with its filter, search, KPIs, pages
and CSV; a customer's actions, audited like the API's; an SMS from a template, previewed, sent by the worker
to Arkesel (a local HTTP server) and marked delivered by Arkesel's receipt; a bulk SMS whose preview shows the
cost guard's answer; and the role and CSRF checks."""

import csv
import io
import re

import pytest
from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import AuditEntry
from modules.insight.models import Customer, CustomerAction, SmsMessage
from tests.console.conftest import create, csrf_token, sign_in
from tests.support.insight import (
    ARKESEL_KEY,
    SENDER,
    arkesel_accepts,
    arkesel_balance,
    create_customer,
    sends,
)
from tests.support.worker import Drainer

PUBLIC_URL = "https://hub.example.test"
LONG_WARNING = "Dear {name}, your account is in arrears of {amount}. " + "Please pay at the office. " * 6


def sms_settings(httpserver, **more):
    return {"ARKESEL_API_KEY": ARKESEL_KEY, "ARKESEL_SENDER_ID": SENDER, "ARKESEL_BASE_URL": httpserver.url_for(""),
            "PUBLIC_URL": PUBLIC_URL, **more}


@pytest.fixture
def app(make_app, httpserver):
    """The hub with SMS against `httpserver` (Arkesel) and a public address, so that receipts are asked for."""
    return make_app(**sms_settings(httpserver))


@pytest.fixture
def people(client, operator_headers):
    """Three customers, one of each status (created and acted on through the API)."""
    made = {
        "ama": create_customer(client, operator_headers, name="Ama Mensah", account_number="ACC-1",
                               phone="0241234567", arrears="120.50"),
        "kofi": create_customer(client, operator_headers, name="Kofi Boateng", account_number="ACC-2",
                                phone="0201234567", arrears="1000"),
        "esi": create_customer(client, operator_headers, name="Esi Owusu", account_number="ACC-3",
                               phone="0271234567", arrears="200"),
    }
    for who, action in (("kofi", "warn"), ("esi", "disconnect")):
        answer = client.post("/api/actions/", headers=operator_headers,
                             json={"customer_id": made[who]["id"], "action": action})
        assert answer.status_code == 201
    return made


def names_on(html):
    """The customers the list's table links to, in order."""
    return re.findall(r'href="/console/customers/[0-9a-f-]{36}">([^<]+)</a>', html)


def page_of(client, url, expect=200, **args):
    answer = client.get(url, query_string=args) if args else client.get(url)
    assert answer.status_code == expect, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def status_of(app, customer_id):
    with app.app_context():
        return db.session.get(Customer, customer_id).status


def test_the_list_filters_by_status_and_searches_name_account_and_phone(operator_client, people):
    def listed(**args):
        return set(names_on(page_of(operator_client, "/console/customers", **args)))

    assert listed() == {"Ama Mensah", "Kofi Boateng", "Esi Owusu"}
    assert listed(status="warned") == {"Kofi Boateng"}
    assert listed(status="Disconnected") == {"Esi Owusu"}, "any letter case, as the API"
    assert listed(search="boat") == {"Kofi Boateng"}
    assert listed(search="acc-3") == {"Esi Owusu"}
    assert listed(search="+233 24 123 4567") == {"Ama Mensah"}, "a phone written any way finds the stored one"
    assert listed(search="0271", status="disconnected") == {"Esi Owusu"}
    assert listed(search="0271", status="connected") == set()
    wrong = page_of(operator_client, "/console/customers", 422, status="gone")
    assert "status:" in wrong and names_on(wrong) == []


def test_the_kpis_are_the_dashboards(operator_client, people):
    html = page_of(operator_client, "/console/customers", search="nobody")
    figures = dict(re.findall(r'data-kpi="(\w+)">([^<]+)<', html))
    assert figures == {"connected": "1", "warned": "1", "disconnected": "1", "arrears": "GHS 1,320.50"}, \
        "totals of every customer, whatever the list's filter"
    assert re.search(r"Warnings \(30 days\)</h3>\s*<p><strong>1</strong>", html)
    assert re.search(r"Total Customers</h3>\s*<p><strong>3</strong>", html)


def test_pages_and_a_csv_of_every_matching_customer(app, client, operator_headers, operator_client):
    for number in range(55):
        create_customer(client, operator_headers, name="Ama Mensah", account_number=f"ACC-{number:03}",
                        phone=f"024{number:07}", arrears="1.00")
    create_customer(client, operator_headers, name="Kofi Boateng", account_number="OTHER", phone="0201234567")
    first = page_of(operator_client, "/console/customers", search="ACC-")
    assert len(names_on(first)) == 50 and "Page 1 of 2" in first and "56 customer" not in first
    following = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = page_of(operator_client, following)
    assert len(names_on(second)) == 5 and "Page 2 of 2" in second and 'rel="next"' not in second

    download = operator_client.get("/console/customers", query_string={"search": "ACC-", "format": "csv"})
    assert download.status_code == 200 and download.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert len(rows) == 55, "every matching customer, not one page"
    assert {row["account_number"] for row in rows} == {f"ACC-{number:03}" for number in range(55)}
    assert rows[0]["account_number"] == "ACC-054" and rows[0]["arrears"] == "1.00", "newest first"


def test_actions_change_the_status_and_are_audited(app, operator_client, field_operator, people):
    ama = people["ama"]["id"]
    html = page_of(operator_client, f"/console/customers/{ama}")
    for action, status in (("disconnect", "disconnected"), ("warn", "warned"), ("connect", "connected")):
        answer = operator_client.post(f"/console/customers/{ama}/actions",
                                      data={"csrf_token": csrf_token(html), "action": action})
        assert answer.status_code == 303 and answer.location.endswith(f"/console/customers/{ama}")
        assert status_of(app, ama) == status
    page = page_of(operator_client, f"/console/customers/{ama}")
    assert "is connected." in page and re.search(r'data-status>connected<', page)
    with app.app_context():
        done = db.session.execute(select(CustomerAction.action, CustomerAction.performed_by, CustomerAction.source)
                                  .where(CustomerAction.customer_id == ama)).all()
        assert sorted(done) == [("connect", "Field", "manual"), ("disconnect", "Field", "manual"),
                                ("warn", "Field", "manual")]
        audited = db.session.execute(select(AuditEntry.event, AuditEntry.actor).where(
            AuditEntry.subject_id == ama, AuditEntry.event.like("action.%"))).all()
        assert sorted(audited) == sorted((f"action.{action}", f"operator:{field_operator}")
                                         for action in ("disconnect", "warn", "connect"))
    unknown = operator_client.post(f"/console/customers/{ama}/actions",
                                   data={"csrf_token": csrf_token(html), "action": "explode"})
    assert unknown.status_code == 303 and status_of(app, ama) == "connected"
    missing = operator_client.post("/console/customers/00000000-0000-0000-0000-000000000000/actions",
                                   data={"csrf_token": csrf_token(html), "action": "warn"})
    assert missing.status_code == 404


def test_a_template_sms_is_previewed_sent_and_marked_delivered_by_its_receipt(
        app, client, operator_headers, operator_client, people, httpserver):
    ama = people["ama"]["id"]
    assert client.put("/api/sms/templates/warning", headers=operator_headers,
                      json={"message": LONG_WARNING}).status_code == 200
    final = LONG_WARNING.format(name="Ama Mensah", amount="GHS 120.50")
    preview = page_of(operator_client, f"/console/customers/{ama}/sms", template="Warning")
    assert re.search(r"data-preview>([^<]+)<", preview).group(1) == final
    assert re.search(r"data-segments>(\d+) SMS<", preview).group(1) == "2", f"{len(final)} GSM-7 characters"
    with app.app_context():
        assert db.session.scalars(select(SmsMessage)).all() == [], "a preview sends nothing"

    arkesel_accepts(httpserver)
    sent = operator_client.post(f"/console/customers/{ama}/sms", data={
        "csrf_token": csrf_token(preview), "template": "warning", "previewed": final, "confirm": "1"})
    assert sent.status_code == 303
    with app.app_context():
        sms = db.session.scalars(select(SmsMessage)).one()
        assert (sms.kind, sms.message, sms.status, sms.segments) == ("warning", final, "queued", 2)
    Drainer(app).drain()
    assert sends(httpserver)[0].get_json()["message"] == final
    page = page_of(operator_client, f"/console/customers/{ama}")
    assert re.search(rf'data-sms-status="{sms.id}">sent<', page)

    callback = sends(httpserver)[0].get_json()["callback_url"].removeprefix(PUBLIC_URL)
    receipt = client.post(callback, json={"sms_id": "ark-233241234567", "status": "DELIVERED"})
    assert receipt.status_code == 200
    page = page_of(operator_client, f"/console/customers/{ama}")
    assert re.search(rf'data-sms-status="{sms.id}">delivered<', page)
    assert "DELIVERED" in page


def test_a_template_changed_after_the_preview_is_shown_again_not_sent(
        app, client, operator_headers, operator_client, people):
    ama = people["ama"]["id"]
    preview = page_of(operator_client, f"/console/customers/{ama}/sms", template="warning")
    previewed = re.search(r'name="previewed" value="([^"]+)"', preview).group(1)
    assert client.put("/api/sms/templates/warning", headers=operator_headers,
                      json={"message": "Dear {name}, pay {amount} today."}).status_code == 200
    answer = operator_client.post(f"/console/customers/{ama}/sms", data={
        "csrf_token": csrf_token(preview), "template": "warning", "previewed": previewed, "confirm": "1"})
    assert answer.status_code == 409
    assert "Dear Ama Mensah, pay GHS 120.50 today." in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(SmsMessage)).all() == []


def test_a_refused_template_send_is_flashed_and_counts_nothing(make_app, httpserver, operator_headers):
    capped = make_app(**sms_settings(httpserver, SMS_DAILY_SEGMENT_CAP_PER_OPERATOR="1"))
    ama = create_customer(capped.test_client(), operator_headers)["id"]
    create(capped, "field@example.com", "operator")
    browser = capped.test_client()
    sign_in(browser, "field@example.com")
    capped.test_client().put("/api/sms/templates/warning", headers=operator_headers, json={"message": LONG_WARNING})
    preview = page_of(browser, f"/console/customers/{ama}/sms", template="warning")
    previewed = re.search(r'name="previewed" value="([^"]+)"', preview).group(1)
    answer = browser.post(f"/console/customers/{ama}/sms", data={
        "csrf_token": csrf_token(preview), "template": "warning", "previewed": previewed, "confirm": "1"},
        follow_redirects=True)
    assert "Not sent: Your daily SMS cap is 1 segments" in answer.get_data(as_text=True)
    with capped.app_context():
        assert db.session.scalars(select(SmsMessage)).all() == []


def bulk_preview(browser, expect=200, **args):
    html = page_of(browser, "/console/customers/sms-bulk", expect, **args)
    guard = re.search(r'data-guard="(\w+)"', html)
    return html, guard and guard.group(1)


def test_a_bulk_sms_shows_the_guards_answer_before_it_is_sent(make_app, httpserver, operator_headers):
    capped = make_app(**sms_settings(httpserver, SMS_DAILY_SEGMENT_CAP_PER_OPERATOR="3"))
    api = capped.test_client()
    for number, name in enumerate(("Ama Mensah", "Ama Owusu", "Kofi Boateng", "Esi Owusu")):
        create_customer(api, operator_headers, name=name, account_number=f"ACC-{number}", phone=f"024123456{number}")
    create(capped, "field@example.com", "operator")
    browser = capped.test_client()
    sign_in(browser, "field@example.com")
    arkesel_balance(httpserver)

    form, guard = bulk_preview(browser)
    assert guard is None and "<textarea" in form
    everyone, guard = bulk_preview(browser, message="Our office is closed on Friday.")
    assert guard == "refuse"
    assert re.search(r"data-recipients>4<", everyone) and re.search(r"data-cost>4<", everyone)
    assert "SMS_DAILY_SEGMENT_CAP_PER_OPERATOR" in everyone and 'name="confirm"' not in everyone
    forged = browser.post("/console/customers/sms-bulk", data={
        "csrf_token": csrf_token(everyone), "message": "Our office is closed on Friday.", "confirm": "1"})
    assert forged.status_code == 200 and "would refuse" in forged.get_data(as_text=True)

    amas, guard = bulk_preview(browser, search="ama", message="Our office is closed on Friday.")
    assert guard == "allow" and re.search(r"data-recipients>2<", amas)
    with capped.app_context():
        assert db.session.scalars(select(SmsMessage)).all() == [], "previews send and count nothing"
    sent = browser.post("/console/customers/sms-bulk?search=ama", data={
        "csrf_token": csrf_token(amas), "message": "Our office is closed on Friday.", "confirm": "1"})
    assert sent.status_code == 303 and sent.location.endswith("/console/customers?search=ama")
    with capped.app_context():
        sms = db.session.scalars(select(SmsMessage)).one()
        assert (sms.kind, sorted(sms.recipients)) == ("bulk", ["233241234560", "233241234561"])
    again, guard = bulk_preview(browser, search="ama", message="Our office is closed on Friday.")
    assert guard == "refuse" and "2 used today" in again


def test_a_bulk_preview_shows_the_balance_and_the_text_rules(make_app, httpserver, operator_headers):
    poor = make_app(**sms_settings(httpserver))
    api = poor.test_client()
    create_customer(api, operator_headers)
    create(poor, "field@example.com", "operator")
    browser = poor.test_client()
    sign_in(browser, "field@example.com")
    arkesel_balance(httpserver, sms_balance="0")
    html, guard = bulk_preview(browser, message="Hello")
    assert guard == "refuse" and "The Arkesel balance is 0 SMS" in html
    blank, guard = bulk_preview(browser, 422, message="   ")
    assert guard is None and "Must not be blank." in blank
    nobody, guard = bulk_preview(browser, search="nobody", message="Hello")
    assert guard == "empty"


@pytest.fixture
def agent_client(app):
    create(app, "agent@example.com", "agent")
    browser = app.test_client()
    assert sign_in(browser, "agent@example.com").status_code == 303
    return browser


def test_an_agent_gets_403_on_every_page_and_action(app, agent_client, people):
    ama = people["ama"]["id"]
    token = csrf_token(page_of(agent_client, "/console/overview"))
    for url in ("/console/customers", "/console/customers/live", f"/console/customers/{ama}",
                f"/console/customers/{ama}/sms?template=warning", "/console/customers/sms-bulk?message=Hi"):
        assert agent_client.get(url).status_code == 403, url
    posts = {f"/console/customers/{ama}/actions": {"action": "disconnect"},
             f"/console/customers/{ama}/sms": {"template": "warning", "previewed": "x", "confirm": "1"},
             "/console/customers/sms-bulk": {"message": "Hi", "confirm": "1"}}
    for url, form in posts.items():
        assert agent_client.post(url, data={"csrf_token": token, **form}).status_code == 403, url
    assert "/console/customers" not in page_of(agent_client, "/console/overview")
    assert status_of(app, ama) == "connected"
    with app.app_context():
        assert db.session.scalars(select(SmsMessage)).all() == []


def test_an_admin_may_use_the_pages(admin_client, people):
    assert names_on(page_of(admin_client, "/console/customers", status="connected")) == ["Ama Mensah"]


def test_a_post_without_the_csrf_token_is_refused(app, operator_client, people):
    ama = people["ama"]["id"]
    for url, form in ((f"/console/customers/{ama}/actions", {"action": "disconnect"}),
                      (f"/console/customers/{ama}/sms", {"template": "warning", "confirm": "1"}),
                      ("/console/customers/sms-bulk", {"message": "Hi", "confirm": "1"})):
        assert operator_client.post(url, data=form).status_code == 400, url
    assert status_of(app, ama) == "connected"
    with app.app_context():
        assert db.session.scalars(select(SmsMessage)).all() == []


def test_a_bulk_preview_shows_the_hourly_limit_of_recipients(make_app, httpserver, operator_headers):
    limited = make_app(**sms_settings(httpserver, SMS_RECIPIENTS_PER_HOUR="1/hour"))
    api = limited.test_client()
    create_customer(api, operator_headers, account_number="ACC-1", phone="0241234567")
    create_customer(api, operator_headers, account_number="ACC-2", phone="0201234567")
    create(limited, "field@example.com", "operator")
    browser = limited.test_client()
    sign_in(browser, "field@example.com")
    arkesel_balance(httpserver)
    html, guard = bulk_preview(browser, message="Hello")
    assert guard == "refuse" and "SMS_RECIPIENTS_PER_HOUR" in html
    one, guard = bulk_preview(browser, search="ACC-1", message="Hello")
    assert guard == "allow"
    assert bulk_preview(browser, search="ACC-1", message="Hello")[1] == "allow", "a preview counts nothing"


def test_a_bulk_sms_goes_to_distinct_phones_and_at_most_1000(app, client, operator_headers, operator_client,
                                                              httpserver):
    rows = [{"name": "Ama Mensah", "account_number": f"ACC-{n}", "phone": f"024{n:07}", "arrears": "0"}
            for n in range(1001)]
    rows.append({"name": "Ama Mensah", "account_number": "TWIN", "phone": "0240000000", "arrears": "0"})
    answer = client.post("/api/upload/process-batch", headers=operator_headers, json={"data": rows})
    assert answer.status_code == 200 and answer.get_json()["customers_created"] == 1002
    arkesel_balance(httpserver)
    html, guard = bulk_preview(operator_client, message="Hello")
    assert guard == "refuse" and "at most 1000 recipients" in html and "more than 1000" in html
    twins, guard = bulk_preview(operator_client, search="0240000000", message="Hello")
    assert guard == "allow" and re.search(r"data-recipients>1<", twins), "two customers, one phone"
