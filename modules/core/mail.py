"""Outbound SMTP (smtplib) for every e-mail the hub sends (FASTCore's lead e-mails, the outbox alerts), with
failures sorted into retryable and permanent.

Port 465 speaks TLS from the first byte; any other port upgrades with STARTTLS when SMTP_TLS is on.
Addresses go on the wire with their domain in IDNA (ASCII) form, in the envelope and the headers
alike; a non-ASCII local part is sent with SMTPUTF8 when the server offers it, and is otherwise a
permanent failure (no retry can change what the server offers). Nothing here logs an address, a
subject or a body.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

import idna

from modules.core.outbox.handlers import Deferred, Permanent, Retryable

IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str
    password: str
    starttls: bool
    timeout: float
    sender: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SmtpSettings:
        return cls(host=config.get("SMTP_HOST") or "", port=int(config.get("SMTP_PORT") or 587),
                   user=config.get("SMTP_USER") or "", password=config.get("SMTP_PASSWORD") or "",
                   starttls=bool(config.get("SMTP_TLS")), timeout=float(config.get("SMTP_TIMEOUT_SECONDS") or 15),
                   sender=config.get("FROM_EMAIL") or "")

    @property
    def configured(self) -> bool:
        return bool(self.host and self.sender)


def smtp_configured(config: dict[str, Any]) -> bool:
    return SmtpSettings.from_config(config).configured


def wire_address(address: str, role: str) -> Address:
    """`address` ("jeanne@exämple.com", or "Name <...>") as SMTP carries it: the domain in IDNA form
    (`jeanne@xn--exmple-cua.com`), an ASCII domain as written, the local part as it is (a non-ASCII one
    needs SMTPUTF8, see `SmtpClient.send`). A value without "@" is kept as configured (some relays take
    a bare sender name). Raises `Permanent` naming `role` (FROM_EMAIL, ADMIN_EMAIL, ...), never the
    address, when the domain has no IDNA form."""
    name, spec = parseaddr(address)
    local, at, domain = spec.rpartition("@")
    if not at:
        return Address(display_name=name, username=spec)
    if not domain.isascii():
        try:
            domain = idna.encode(domain, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise Permanent(f"{role}: the domain has no IDNA form, so no SMTP server can be given it") from exc
    return Address(display_name=name, username=local, domain=domain)


class SmtpClient:
    def __init__(self, settings: SmtpSettings):
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.port == IMPLICIT_TLS_PORT:
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=ssl.create_default_context())
        connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.starttls:
            connection.starttls(context=ssl.create_default_context())
        return connection

    def send(self, email: EmailMessage) -> list[int]:
        """Send one message, its envelope read from its headers (written with `wire_address`). Raises
        `Retryable` or `Permanent` (from the outbox) unless at least one recipient accepted it; returns
        the codes of recipients that refused it (usually none), since sending again would repeat the
        message to those who accepted."""
        if not self.settings.configured:
            raise Deferred("SMTP is not configured (SMTP_HOST and FROM_EMAIL); the e-mail waits")
        try:
            with self._connect() as connection:
                if self.settings.user:
                    connection.login(self.settings.user, self.settings.password)
                refused = _send_message(connection, email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _by_code(f"recipient refused ({', '.join(map(str, codes))})", min(codes)) from exc
        except smtplib.SMTPResponseException as exc:
            raise _by_code(f"SMTP {exc.smtp_code} during {type(exc).__name__}", exc.smtp_code) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise Retryable(f"SMTP connection failed: {type(exc).__name__}") from exc
        return sorted(code for code, _ in refused.values())


def _send_message(connection: smtplib.SMTP, email: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """smtplib sends a message with a non-ASCII address with SMTPUTF8 (and UTF-8 headers) when the server
    offers it, and refuses it otherwise: that refusal is final."""
    try:
        return connection.send_message(email)
    except smtplib.SMTPNotSupportedError as exc:
        raise Permanent("an address has a non-ASCII local part and the SMTP server does not offer SMTPUTF8") from exc


def _by_code(reason: str, code: int) -> Exception:
    """5xx is the server's final word, except on authentication (a setting an operator can fix)."""
    if 500 <= code < 600 and code not in (530, 535):
        return Permanent(reason, code)
    return Retryable(reason, code)
