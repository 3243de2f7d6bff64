"""Lead e-mails through the outbox to a real SMTP server on loopback: content, consent, outages, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from modules.core import outbox
from modules.core.extensions import db
from modules.core.models import AuditEntry, OutboxMessage
from modules.core.types import utcnow
from modules.fastcore.models import Lead
from tests.support.fastcore import ADMIN, ADMIN_INBOX, SITE, lead_body
from tests.support.smtp import SmtpServer
from tests.support.worker import Drainer


def post_lead(client, **overrides) -> str:
    response = client.post("/inbound/leads", json=lead_body(**overrides), headers=SITE)
    assert response.status_code == 201
    return response.get_json()["leadId"]


def email_rows(app, lead_id) -> dict[str, tuple[str, int, str | None]]:
    with app.app_context():
        rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.subject_id == lead_id)).all()
        return {row.kind.removeprefix("fastcore."): (row.status, row.attempts, row.last_error) for row in rows}


def audit_events(app, lead_id) -> list[tuple[str, dict]]:
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.subject_id == lead_id,
                                                              AuditEntry.event.like("email.%"))).all()
        return sorted((entry.event, entry.details["email"]) for entry in entries)


def sweep_at(app, seconds_from_now):
    with app.app_context():
        return outbox.sweep(now=utcnow() + timedelta(seconds=seconds_from_now))


def test_the_lead_gets_a_welcome_and_the_admin_an_alert_in_text_and_html(app, client, worker, smtp_server):
    lead_id = post_lead(client, name="Jeanne <b>Test</b>")
    worker.drain()
    [welcome] = smtp_server.to("jeanne.test@example.com")
    [alert] = smtp_server.to(ADMIN_INBOX)
    assert welcome.message["From"] == "FASTCore <leads@example.com>"
    assert welcome.message["Subject"] == "Nous avons bien reçu votre demande"
    assert "Bonjour Jeanne <b>Test</b>," in welcome.part("text/plain")
    assert "Bonjour Jeanne &lt;b&gt;Test&lt;/b&gt;," in welcome.part("text/html"), "HTML escapes what the form sent"
    assert "votre demande (compresseurs) et\r\nun membre" in welcome.part("text/plain")
    assert lead_id in welcome.part("text/plain")
    assert alert.message["Subject"] == "New lead: Jeanne <b>Test</b> (compresseurs)"
    for part in (alert.part("text/plain"), alert.part("text/html")):
        for detail in ("jeanne.test@example.com", "+33 6 00 00 00 00", "Garage Test", "compresseurs",
                       "Need a quote for two compressors.", "contact-page", lead_id):
            assert detail in part
    assert email_rows(app, lead_id) == {"welcome_email": ("delivered", 1, None), "admin_alert": ("delivered", 1, None)}
    assert audit_events(app, lead_id) == [("email.sent", "admin_alert"), ("email.sent", "welcome_email")]


def test_without_consent_only_the_admin_is_told(app, client, worker, smtp_server):
    lead_id = post_lead(client, consent=False)
    worker.drain()
    assert [mail.recipients for mail in smtp_server.received] == [[ADMIN_INBOX]]
    assert "Consent:  no" in smtp_server.received[0].part("text/plain")
    assert set(email_rows(app, lead_id)) == {"admin_alert"}


def test_an_smtp_outage_is_retried_and_then_delivered(app, client, worker, smtp_server):
    smtp_server.stop()
    lead_id = post_lead(client)
    worker.drain()
    rows = email_rows(app, lead_id)
    assert {kind: row[:2] for kind, row in rows.items()} == {"welcome_email": ("pending", 1),
                                                             "admin_alert": ("pending", 1)}
    assert rows["admin_alert"][2].startswith("SMTP connection failed")
    assert audit_events(app, lead_id) == []

    smtp_server.start()
    assert sweep_at(app, 5) == 0, "the retry waits for its backoff"
    assert sweep_at(app, 45) == 2
    worker.drain()
    assert sorted(mail.recipients[0] for mail in smtp_server.received) == ["jeanne.test@example.com", ADMIN_INBOX]
    assert {row[0] for row in email_rows(app, lead_id).values()} == {"delivered"}


def test_a_refused_address_is_dead_at_once_and_audited_as_failed(app, client, worker, smtp_server):
    smtp_server.refuse.add("nobody@example.com")
    lead_id = post_lead(client, email="nobody@example.com")
    worker.drain()
    assert email_rows(app, lead_id)["welcome_email"][:2] == ("dead", 1)
    assert audit_events(app, lead_id) == [("email.failed", "welcome_email"), ("email.sent", "admin_alert")]
    detail = client.get(f"/admin/leads/{lead_id}", headers=ADMIN).get_json()
    [failed] = [log for log in detail["audit_logs"] if log["event"] == "email.failed"]
    assert failed["status_code"] == 550 and failed["actor"] == "mailer"


def test_without_smtp_settings_emails_wait_as_pending_and_health_says_so(make_app, fastcore_settings):
    app = make_app(**{**fastcore_settings, "SMTP_HOST": ""})
    client = app.test_client()
    lead_id = post_lead(client)
    Drainer(app).drain()
    rows = email_rows(app, lead_id)
    assert {row[:2] for row in rows.values()} == {("pending", 0)}, "waiting uses up no attempt"
    assert rows["welcome_email"][2] == "deferred: SMTP is not configured (SMTP_HOST and FROM_EMAIL); the e-mail waits"
    expected = {"smtp_configured": False, "pending": 2, "delivered": 0, "dead": 0}
    assert client.get("/admin/health", headers=ADMIN).get_json()["emails"] == expected
    assert client.get("/admin/queue/stats", headers=ADMIN).get_json()["emails"] == expected


IDNA_DOMAIN = "xn--exmple-cua.com"  # exämple.com
NO_SMTPUTF8 = "an address has a non-ASCII local part and the SMTP server does not offer SMTPUTF8"


@pytest.fixture
def smtputf8_server():
    server = SmtpServer(smtputf8=True)
    server.start()
    yield server
    server.stop()


def unicode_app(make_app, fastcore_settings, server, **overrides):
    settings = {**fastcore_settings, "SMTP_PORT": server.port, "FROM_EMAIL": "leads@exämple.com",
                "ADMIN_EMAIL": "ventes@exämple.com", **overrides}
    return make_app(**settings)


@pytest.mark.parametrize("offers_smtputf8", [False, True], ids=["plain-server", "smtputf8-server"])
def test_a_unicode_domain_goes_in_idna_form_in_the_envelope_and_the_headers(make_app, fastcore_settings,
                                                                            smtputf8_server, smtp_server,
                                                                            offers_smtputf8):
    server = smtputf8_server if offers_smtputf8 else smtp_server
    app = unicode_app(make_app, fastcore_settings, server)
    lead_id = post_lead(app.test_client(), email="jeanne@exämple.com")
    Drainer(app).drain()
    [welcome] = server.to(f"jeanne@{IDNA_DOMAIN}")
    [alert] = server.to(f"ventes@{IDNA_DOMAIN}")
    for mail in (welcome, alert):
        assert mail.sender == f"leads@{IDNA_DOMAIN}"
        assert mail.message["From"] == f"FASTCore <leads@{IDNA_DOMAIN}>"
        assert mail.message["Message-ID"].endswith(f".fastcore@{IDNA_DOMAIN}>")
        assert "SMTPUTF8" not in mail.mail_options, "an ASCII-only message needs no SMTPUTF8"
    assert (welcome.recipients, welcome.message["To"]) == ([f"jeanne@{IDNA_DOMAIN}"], f"jeanne@{IDNA_DOMAIN}")
    assert (alert.recipients, alert.message["To"]) == ([f"ventes@{IDNA_DOMAIN}"], f"ventes@{IDNA_DOMAIN}")
    assert "jeanne@exämple.com" in alert.part("text/plain"), "the lead's address is shown as the lead gave it"
    assert email_rows(app, lead_id) == {"welcome_email": ("delivered", 1, None), "admin_alert": ("delivered", 1, None)}
    with app.app_context():
        assert db.session.get(Lead, lead_id).email == "jeanne@exämple.com"


def test_a_non_ascii_local_part_goes_with_smtputf8_when_the_server_offers_it(make_app, fastcore_settings,
                                                                             smtputf8_server):
    app = unicode_app(make_app, fastcore_settings, smtputf8_server, FROM_EMAIL="équipe@exämple.com")
    lead_id = post_lead(app.test_client(), email="jéanne@exämple.com")
    Drainer(app).drain()
    [welcome] = smtputf8_server.to(f"jéanne@{IDNA_DOMAIN}")
    assert "SMTPUTF8" in welcome.mail_options
    assert welcome.sender == f"équipe@{IDNA_DOMAIN}"
    assert (welcome.message["To"], welcome.message["From"]) == (f"jéanne@{IDNA_DOMAIN}",
                                                                f"FASTCore <équipe@{IDNA_DOMAIN}>")
    assert "Bonjour Jeanne Test," in welcome.part("text/plain")
    assert email_rows(app, lead_id) == {"welcome_email": ("delivered", 1, None), "admin_alert": ("delivered", 1, None)}


@pytest.mark.parametrize(("overrides", "lead_email", "failed"), [
    ({"FROM_EMAIL": "leads@example.com", "ADMIN_EMAIL": "ventes@example.com"}, "jéanne@example.com",
     {"welcome_email"}),
    ({"ADMIN_EMAIL": "équipe@example.com"}, "jeanne@example.com", {"admin_alert"}),
    ({"FROM_EMAIL": "équipe@example.com"}, "jeanne@example.com", {"welcome_email", "admin_alert"}),
], ids=["lead", "ADMIN_EMAIL", "FROM_EMAIL"])
def test_a_non_ascii_local_part_without_smtputf8_fails_at_once_with_the_reason(make_app, fastcore_settings,
                                                                               smtp_server, overrides, lead_email,
                                                                               failed):
    app = unicode_app(make_app, fastcore_settings, smtp_server, **overrides)
    lead_id = post_lead(app.test_client(), email=lead_email)
    Drainer(app).drain()
    rows = email_rows(app, lead_id)
    assert {kind: row for kind, row in rows.items() if kind in failed} == {kind: ("dead", 1, NO_SMTPUTF8)
                                                                          for kind in failed}
    sent = {"welcome_email", "admin_alert"} - failed
    assert {kind: row[0] for kind, row in rows.items() if kind not in failed} == dict.fromkeys(sent, "delivered")
    addresses = {"welcome_email": lead_email, "admin_alert": overrides.get("ADMIN_EMAIL")}
    assert sorted(mail.recipients for mail in smtp_server.received) == sorted([addresses[kind]] for kind in sent)
    assert sorted(kind for event, kind in audit_events(app, lead_id) if event == "email.failed") == sorted(failed)


def test_an_admin_address_whose_domain_has_no_idna_form_fails_at_once_naming_the_setting(make_app, fastcore_settings,
                                                                                          smtp_server):
    app = unicode_app(make_app, fastcore_settings, smtp_server, ADMIN_EMAIL="ventes@exa_mple.cöm")
    lead_id = post_lead(app.test_client())
    Drainer(app).drain()
    rows = email_rows(app, lead_id)
    assert rows["admin_alert"] == ("dead", 1, "ADMIN_EMAIL: the domain has no IDNA form, so no SMTP server can be "
                                              "given it")
    assert rows["welcome_email"][0] == "delivered"


def test_every_email_carries_a_date_header_of_its_sending(app, client, worker, smtp_server):
    post_lead(client)
    before = datetime.now(UTC).replace(microsecond=0)
    worker.drain()
    after = datetime.now(UTC)
    assert len(smtp_server.received) == 2
    for mail in smtp_server.received:
        [date] = mail.message.get_all("Date")
        assert not date.defects, "the header parses as an RFC 5322 date"
        assert date.endswith(" -0000"), "UTC, with no claim about the sender's local zone (RFC 5322 3.3)"
        assert before <= date.datetime.replace(tzinfo=UTC) <= after


@pytest.mark.parametrize("name, shown", [
    ("=?utf-8?q?encoded?=", "=?utf-8?q?encoded?="),
    ("  =?UTF-8?B?U3Bvb2Y=?=  Zoë  ", "=?UTF-8?B?U3Bvb2Y=?= Zoë"),
    ("=?iso-8859-1?q?caf=E9?=" + " Ñúñez" * 25, "=?iso-8859-1?q?caf=E9?=" + " Ñúñez" * 25),
    ("Jeanne =?", "Jeanne =?"),
], ids=["encoded-word", "base64-word-and-unicode", "long-folded", "half-a-marker"])
def test_the_alert_subject_shows_the_name_exactly_as_the_lead_typed_it(app, client, worker, smtp_server, name, shown):
    post_lead(client, name=name)
    worker.drain()
    [alert] = smtp_server.to(ADMIN_INBOX)
    assert alert.message["Subject"] == f"New lead: {shown} (compresseurs)"
    assert f"Name:     {name.strip()}" in alert.part("text/plain").splitlines(), "the body shows the name as stored"


def test_the_subject_is_literal_in_a_message_sent_with_smtputf8_too(make_app, fastcore_settings, smtputf8_server):
    app = unicode_app(make_app, fastcore_settings, smtputf8_server, FROM_EMAIL="équipe@exämple.com")
    post_lead(app.test_client(), name="=?utf-8?q?encoded?= Zoë")
    Drainer(app).drain()
    [alert] = smtputf8_server.to(f"ventes@{IDNA_DOMAIN}")
    assert "SMTPUTF8" in alert.mail_options
    assert alert.message["Subject"] == "New lead: =?utf-8?q?encoded?= Zoë (compresseurs)"
