"""The two lead e-mails, composed from the Jinja2 templates in `templates/` (plain text and HTML).

Outbox payloads carry only the lead id: the e-mail is rendered from the stored lead when it is sent,
so no personal data sits in the outbox table or in Redis. It is dated then too (RFC 5322 requires a
`Date:` header; smtplib does not add one, and spam filters penalise its absence).
"""

from __future__ import annotations

import functools
from email import policy as email_policy
from email.header import Header
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from modules.core.mail import wire_address
from modules.core.types import isoformat
from modules.fastcore.models import Lead

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
SENDER_NAME = "FASTCore"


class LiteralSubject(UnstructuredHeader):
    """A Subject that reads exactly as the text it is given. The standard header parses its text as if it
    came off the wire: a lead named `=?utf-8?q?x?=` would become "x" (an RFC 2047 encoded word, decoded),
    and text that looks like an encoded word is written out raw, for every mail client to decode: the
    lead would choose what the admin reads. This one keeps the text as given and, when it holds "=?",
    writes it wholly as encoded words, which a client decodes back to that very text."""

    max_count = 1  # one Subject per message, as the standard registry has it

    @classmethod
    def parse(cls, value, kwds):
        super().parse(value, kwds)
        kwds["decoded"] = value

    def fold(self, *, policy):
        if "=?" not in self:
            return super().fold(policy=policy)
        header = Header(str(self), "utf-8", maxlinelen=policy.max_line_length or None, header_name=self.name)
        return f"{self.name}: {header.encode(linesep=policy.linesep)}{policy.linesep}"


def _mail_policy() -> email_policy.EmailPolicy:
    headers = HeaderRegistry()
    headers.map_to_type("subject", LiteralSubject)
    return email_policy.default.clone(header_factory=headers)


MAIL_POLICY = _mail_policy()


@functools.cache
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def _compose(template: str, subject: str, sender: Address, recipients: list[Address], message_id: str,
             context: dict) -> EmailMessage:
    """Addresses in their wire form (`core.mail.wire_address`): the envelope is read from these headers. Dated
    now: composing is sending (see the module's docstring), so a retry carries the time of its attempt."""
    email = EmailMessage(policy=MAIL_POLICY)
    email["Date"] = formatdate(localtime=False)
    email["Subject"] = subject
    email["From"] = Address(SENDER_NAME, sender.username, sender.domain)
    email["To"] = recipients
    # Built from the outbox id, the Message-ID is the same at every retry, so a receiver can spot a resend.
    email["Message-ID"] = f"<{message_id}.fastcore@{sender.domain or 'localhost'}>"
    email.set_content(_templates().get_template(f"{template}.txt").render(**context))
    email.add_alternative(_templates().get_template(f"{template}.html").render(**context), subtype="html")
    return email


def _context(lead: Lead) -> dict:
    return {"lead": lead, "received_at": isoformat(lead.created_at), "source": lead.meta.get("source", "")}


def welcome(lead: Lead, sender: str, message_id: str) -> EmailMessage:
    """To the lead, from `sender` (FROM_EMAIL). Raises `Permanent` when an address cannot go on the wire."""
    return _compose("welcome", "Nous avons bien reçu votre demande", wire_address(sender, "FROM_EMAIL"),
                    [wire_address(lead.email, "the lead's address")], message_id, _context(lead))


def admin_alert(lead: Lead, sender: str, recipients: list[str], message_id: str) -> EmailMessage:
    """To `recipients` (ADMIN_EMAIL), from `sender`. Raises `Permanent` when an address cannot go on the wire."""
    name = " ".join(lead.name.split())  # a header holds one line, whatever the form allowed
    subject = f"New lead: {name} ({lead.service or 'no service given'})"
    return _compose("admin_alert", subject, wire_address(sender, "FROM_EMAIL"),
                    [wire_address(recipient, "ADMIN_EMAIL") for recipient in recipients], message_id,
                    _context(lead))
