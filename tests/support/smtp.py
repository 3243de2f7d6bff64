"""A real SMTP server (aiosmtpd) on a fixed loopback port: FASTCore's mail server in the tests and the
fault suite.

It keeps every message it accepts (`received`), and counts it in its ledger under the outbox id in the
Message-ID (`<OUTBOX_ID.fastcore@domain>`, the delivery's idempotency key). It can be stopped and
started again on the same port (an outage), refuse chosen recipients (550), and be switched
(tests/support/peers.py): `fail` answers 451 to DATA (a temporary failure the hub must retry), `hang`
accepts the message only after `hang_seconds`, and `down` closes the port so connections are refused.
It offers SMTPUTF8 (internationalised addresses) only when made with `smtputf8=True`.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import threading
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller

from tests.support.peers import Ledger, Switch
from tests.support.servers import free_port

OUTBOX_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def outbox_id(message_id: str) -> str:
    """The outbox id (a UUID) in the Message-ID's left part; "" when there is none."""
    found = OUTBOX_ID.search(message_id.rpartition("@")[0])
    return found.group(0) if found else ""


@dataclass
class ReceivedMail:
    recipients: list[str]  # the envelope's RCPT TO
    message: email.message.EmailMessage
    sender: str = ""  # the envelope's MAIL FROM
    mail_options: list[str] = field(default_factory=list)  # e.g. SMTPUTF8, BODY=8BITMIME

    def part(self, content_type: str) -> str:
        return self.message.get_body(preferencelist=(content_type.split("/")[1],)).get_content()


class _Handler:
    """aiosmtpd's handler: the server's switch, refusals and records."""

    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        if address in self.server.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        switch = self.server.switch
        if switch.mode == "fail":
            return "451 4.3.0 Temporarily unable to accept mail (fault injected)"
        if switch.mode == "hang":
            await asyncio.sleep(switch.hang_seconds)
        self.server.keep(ReceivedMail(list(envelope.rcpt_tos),
                                      email.message_from_bytes(envelope.content, policy=email.policy.default),
                                      envelope.mail_from, list(envelope.mail_options)))
        return "250 2.0.0 OK"


class SmtpServer:
    name = "smtp"

    def __init__(self, port: int | None = None, smtputf8: bool = False, hang_seconds: float = 0.0):
        self.port = port or free_port()
        self.smtputf8 = smtputf8
        self.switch = Switch(hang_seconds)
        self.ledger = Ledger()
        self.refuse: set[str] = set()  # recipients answered 550 at RCPT TO
        self.received: list[ReceivedMail] = []
        self.controller: Controller | None = None
        self.lock = threading.Lock()

    def keep(self, mail: ReceivedMail) -> None:
        key = outbox_id(mail.message.get("Message-ID", ""))
        if not key or not mail.recipients:
            self.ledger.problem("an e-mail without recipients or without the outbox id in its Message-ID")
        self.ledger.record(key)
        self.received.append(mail)

    def to(self, address: str) -> list[ReceivedMail]:
        return [mail for mail in self.received if address in mail.recipients]

    def start(self) -> None:
        """Open the port (again); does nothing when it is open."""
        with self.lock:
            if self.controller is None:
                self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                             enable_SMTPUTF8=self.smtputf8)
                self.controller.start()

    def stop(self) -> None:
        with self.lock:
            if self.controller is not None:
                self.controller.stop()
                self.controller = None

    def set(self, mode: str) -> None:
        """`down` closes the port; any other mode (re)opens it and answers accordingly."""
        if mode == "down":
            self.stop()
            return
        self.switch.set(mode)
        self.start()
