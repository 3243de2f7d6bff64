"""One-time password links: `flask operators reset-link EMAIL` prints one, the console's operators page shows
one once to the admin who asked.

The link carries a signed token (itsdangerous, the SECRET_KEY list) naming the operator and a digest of
their password hash: setting a password changes the hash, so a link works once, and any older link of the
same operator stops working too. It expires after PASSWORD_RESET_HOURS.
"""

from __future__ import annotations

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from modules.core.auth import configured_keys
from modules.core.extensions import db
from modules.core.models import Operator

SALT = "hub.password-reset"
MIN_PASSWORD_CHARS = 8


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(list(reversed(configured_keys("SECRET_KEY_LIST"))), salt=SALT)


def _fingerprint(operator: Operator) -> str:
    return hashlib.sha256(operator.password_hash.encode()).hexdigest()[:24]


def issue(operator: Operator) -> str:
    """A token for `operator`'s one-time link."""
    return _serializer().dumps({"sub": operator.id, "fp": _fingerprint(operator)})


def link(operator: Operator) -> str:
    """The absolute one-time link: under PUBLIC_URL, else the local server's address."""
    base = current_app.config.get("PUBLIC_URL") or f"http://127.0.0.1:{current_app.config['PORT']}"
    return f"{base.rstrip('/')}/console/reset/{issue(operator)}"


def operator_for(token: str) -> Operator | None:
    """The active operator whose unused, unexpired link this is, else None."""
    max_age = int(current_app.config["PASSWORD_RESET_HOURS"]) * 3600
    try:
        claims = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
        return None
    operator = db.session.get(Operator, claims["sub"])
    if operator is None or not operator.is_active or claims.get("fp") != _fingerprint(operator):
        return None
    return operator


def password_problem(password: str, repeated: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"Use at least {MIN_PASSWORD_CHARS} characters."
    if password != repeated:
        return "The two passwords differ."
    return None
