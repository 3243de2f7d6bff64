"""A real SMTP server (aiosmtpd) for the FASTCore lead e-mails, which can defer, hang or refuse.

The hub builds each e-mail's Message-ID from the outbox message id (`<OUTBOX_ID.fastcore@domain>`), so
that id is the delivery's idempotency key here. Modes: `ok`; `fail` answers 451 to DATA (a
temporary failure the hub must retry); `hang` accepts the message only after the hub's SMTP timeout;
`down` closes the port so connections are refused.
"""

from __future__ import annotations

import asyncio
import email
import re
import threading

from aiosmtpd.controller import Controller

from faults.peers import Ledger, Switch

OUTBOX_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def outbox_id(message_id: str) -> str:
    """The outbox id (a UUID) in the Message-ID's left part; "" when there is none."""
    found = OUTBOX_ID.search(message_id.rpartition("@")[0])
    return found.group(0) if found else ""


class _Handler:
    def __init__(self, switch: Switch, ledger: Ledger):
        self.switch, self.ledger = switch, ledger

    async def handle_DATA(self, server, session, envelope) -> str:
        mode = self.switch.mode
        if mode == "fail":
            return "451 4.3.0 Temporarily unable to accept mail (fault injected)"
        if mode == "hang":
            await asyncio.sleep(self.switch.hang_seconds)
        message = email.message_from_bytes(envelope.original_content or envelope.content)
        key = outbox_id(message.get("Message-ID", ""))
        if not key or not envelope.rcpt_tos:
            self.ledger.problem("an e-mail without recipients or without the outbox id in its Message-ID")
        self.ledger.record(key)
        return "250 2.0.0 OK"


class SmtpPeer:
    name = "smtp"

    def __init__(self, port: int, hang_seconds: float):
        self.port = port
        self.switch = Switch(hang_seconds)
        self.ledger = Ledger()
        self.handler = _Handler(self.switch, self.ledger)
        self.controller: Controller | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            if self.controller is None:
                self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
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
