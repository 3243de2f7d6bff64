"""Sign-in throttling (`POST /api/auth/login`) that an attacker can neither outrun nor turn against a
real operator.

- Every attempt is charged *before* its password is checked and refunded once it proves right: the
  counter is one atomic Redis increment, so a burst of concurrent guesses gets exactly the limit's worth
  of password checks (checking first and counting failures after let every guess of a burst through).
- LOGIN_ADDRESS_RATE_LIMIT counts attempts from one address, whatever the e-mail.
- LOGIN_ACCOUNT_RATE_LIMIT counts attempts at one e-mail from one address: guesses from an address lock
  that address out of that account, never the operator elsewhere.
- LOGIN_ACCOUNT_SPREAD_RATE_LIMIT counts attempts at one e-mail from every address it never signed in
  from: guessing spread over many addresses is held too. An address where the operator signed in within
  KNOWN_ADDRESS_DAYS is exempt from it, so even such guessing never locks the operator out of their usual
  places; a first sign-in from a new place may wait for the window's end while an attack goes on.

Like the rate limits, it lets attempts through while Redis does not answer. E-mails and addresses are
hashed in Redis keys.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from modules.core import security
from modules.core.redis_client import REDIS_ERRORS, get_redis

SCOPE = "login-attempts"
KNOWN_ADDRESS_DAYS = 30

log = logging.getLogger(__name__)


class Throttled(Exception):
    """Too many sign-in attempts; `retry_after` seconds until the window ends."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed sign-ins; try again in {retry_after} seconds")
        self.retry_after = retry_after


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class Attempt:
    """One sign-in attempt, charged against the throttles that apply to it."""

    account: str
    address: str
    charged: list[tuple[str, str]]

    def succeeded(self) -> None:
        """The password was right: refund the attempt and remember the address for this operator."""
        for setting, identity in self.charged:
            security.refund(setting, SCOPE, identity)
        try:
            connection = get_redis()
            connection.sadd(_known_key(self.account), self.address)
            connection.expire(_known_key(self.account), KNOWN_ADDRESS_DAYS * 86400)
        except REDIS_ERRORS as exc:
            log.warning("sign-in addresses not remembered", extra={"error": type(exc).__name__})


def _known_key(account: str) -> str:
    return f"login:known-addresses:{account}"


def _known_address(account: str, address: str) -> bool:
    try:
        return bool(get_redis().sismember(_known_key(account), address))
    except REDIS_ERRORS:
        return False


def begin(email: str, remote_addr: str | None) -> Attempt:
    """Charge an attempt at `email` from `remote_addr`; raises Throttled (nothing charged) when a limit is
    used up."""
    account, address = _digest(email.strip().lower()), _digest(remote_addr or "unknown")
    throttles = [("LOGIN_ADDRESS_RATE_LIMIT", f"addr:{address}"),
                 ("LOGIN_ACCOUNT_RATE_LIMIT", f"account:{account}|addr:{address}")]
    if not _known_address(account, address):
        throttles.append(("LOGIN_ACCOUNT_SPREAD_RATE_LIMIT", f"account:{account}"))
    charged: list[tuple[str, str]] = []
    for setting, identity in throttles:
        refused = security.count(setting, SCOPE, identity)
        if refused is not None:
            for done_setting, done_identity in charged:
                security.refund(done_setting, SCOPE, done_identity)
            raise Throttled(refused[1])
        charged.append((setting, identity))
    return Attempt(account, address, charged)
