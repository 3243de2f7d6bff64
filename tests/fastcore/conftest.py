"""FASTCore fixtures: a real SMTP server on loopback (aiosmtpd), an app wired to it, lead helpers."""

from __future__ import annotations

import email
import email.policy
import uuid
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

from tests.support.servers import free_port

SITE = {"Authorization": "Bearer test-site-token"}
ADMIN = {"Authorization": "Bearer test-admin-token"}
UNREACHABLE_DATABASE = "postgresql://nobody@127.0.0.1:1/none"
UNREACHABLE_REDIS = "unix:///nonexistent/redis.sock"
ADMIN_INBOX = "sales@example.com"


def lead_body(**overrides) -> dict:
    """A valid lead as the site posts it; `meta_<key>=` overrides a meta field."""
    meta = {"source": "contact-page", "request_id": str(uuid.uuid4()), "ip_hash": "iphash-0001",
            "timestamp_utc": "2026-11-22T08:00:00Z", "user_agent_hash": "uahash-0001"}
    for key in [k for k in overrides if k.startswith("meta_")]:
        meta[key.removeprefix("meta_")] = overrides.pop(key)
    body = {"name": "Jeanne Test", "email": "jeanne.test@example.com", "phone": "+33 6 00 00 00 00",
            "company": "Garage Test", "service": "compresseurs", "message": "Need a quote for two compressors.",
            "consent": True, "meta": meta}
    body.update(overrides)
    return body


@dataclass
class ReceivedMail:
    recipients: list[str]  # the envelope's RCPT TO
    message: email.message.EmailMessage
    sender: str = ""  # the envelope's MAIL FROM
    mail_options: list[str] = field(default_factory=list)  # e.g. SMTPUTF8, BODY=8BITMIME

    def part(self, content_type: str) -> str:
        return self.message.get_body(preferencelist=(content_type.split("/")[1],)).get_content()


@dataclass
class MailHandler:
    """Accepts every message, except for recipients listed in `refuse` (answered 550)."""

    received: list[ReceivedMail] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(ReceivedMail(list(envelope.rcpt_tos), message, envelope.mail_from,
                                          list(envelope.mail_options)))
        return "250 Message accepted"


class SmtpServer:
    """A real SMTP server on a fixed loopback port that can be stopped and started again (an outage);
    it offers SMTPUTF8 (internationalised addresses) only when made with `smtputf8=True`."""

    def __init__(self, smtputf8: bool = False):
        self.port = free_port()
        self.handler = MailHandler()
        self.smtputf8 = smtputf8
        self.controller: Controller | None = None

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port,
                                     enable_SMTPUTF8=self.smtputf8)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[ReceivedMail]:
        return [mail for mail in self.received if address in mail.recipients]


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fallback_file(tmp_path):
    return tmp_path / "fastcore_fallback.jsonl"


@pytest.fixture
def fastcore_settings(smtp_server, fallback_file) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_server.port, "SMTP_TLS": False,
            "FROM_EMAIL": "leads@example.com", "ADMIN_EMAIL": ADMIN_INBOX, "FASTCORE_FALLBACK_FILE": str(fallback_file)}


@pytest.fixture
def app(make_app, fastcore_settings):
    return make_app(**fastcore_settings)


@pytest.fixture
def database_down_app(make_app, fastcore_settings):
    """The hub while the database is unreachable (Redis still answers)."""
    return make_app(**fastcore_settings, DATABASE_URL=UNREACHABLE_DATABASE)


@pytest.fixture
def all_down_app(make_app, fastcore_settings):
    """The hub while both the database and Redis are unreachable: only the local file is left."""
    return make_app(**fastcore_settings, DATABASE_URL=UNREACHABLE_DATABASE, REDIS_URL=UNREACHABLE_REDIS)
