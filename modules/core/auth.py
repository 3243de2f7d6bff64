"""Machine keys (header keys, static bearer tokens) and operator accounts with signed access tokens.

Every key setting is a comma-separated list so keys can be rotated; comparisons are constant-time;
no key value is ever logged. This module only answers "valid or not, and why"; the decorators that guard
views with it, in each domain's envelope, are in modules/core/access.py.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from flask import current_app, g, has_request_context, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from modules.core import roles
from modules.core.extensions import db
from modules.core.models import ConsoleSession, Operator

TOKEN_SALT = "hub.operator-access"
# Compared against when the e-mail is unknown, so both failures take the same time.
_UNKNOWN_USER_HASH = generate_password_hash("not-a-real-password")


def configured_keys(*setting_names: str) -> list[str]:
    keys: list[str] = []
    for name in setting_names:
        value = current_app.config.get(name) or []
        keys.extend([value] if isinstance(value, str) else value)
    return [key for key in keys if key]


def key_matches(candidate: str | None, accepted: Iterable[str]) -> bool:
    """Constant-time membership test; every accepted key is compared. On a match, inside a request, the
    key becomes the request's credential (`g.credential`, a hash: what rate limits count)."""
    if not candidate:
        return False
    given = candidate.encode()
    matched = False
    for key in accepted:
        matched |= hmac.compare_digest(given, key.encode())
    if matched and has_request_context():
        g.credential = "key:" + hashlib.sha256(given).hexdigest()[:32]
    return matched


class BearerProblem(Exception):
    """Why an Authorization header did not carry a bearer token: `missing` or `scheme`."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def bearer_token() -> str:
    header = request.headers.get("Authorization")
    if not header:
        raise BearerProblem("missing")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise BearerProblem("scheme")
    return token.strip()


# Operators -----------------------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    keys = configured_keys("SECRET_KEY_LIST")
    # itsdangerous signs with the last key and verifies with all; our setting lists the newest first.
    return URLSafeTimedSerializer(list(reversed(keys)), salt=TOKEN_SALT)


def create_operator(email: str, password: str, name: str = "", role: str = roles.OPERATOR) -> Operator:
    """A new active operator with `role` (modules/core/roles.py); ValueError for an unknown role. The
    caller commits."""
    if role not in roles.ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(roles.ROLES)}")
    hashed = generate_password_hash(password)
    operator = Operator(email=email.strip().lower(), name=name, password_hash=hashed, token_version=0, role=role)
    db.session.add(operator)
    return operator


def set_password(operator: Operator, password: str) -> None:
    """A new password: ends every token and console session the operator holds. The caller commits."""
    operator.password_hash = generate_password_hash(password)
    revoke_tokens(operator)


def authenticate(email: str, password: str) -> Operator | None:
    operator = find_operator(email)
    if operator is None or not operator.is_active:
        check_password_hash(_UNKNOWN_USER_HASH, password or "")
        return None
    return operator if check_password_hash(operator.password_hash, password or "") else None


def issue_access_token(operator: Operator) -> dict[str, Any]:
    """A signed token naming the operator and their token version (see `revoke_tokens`)."""
    ttl = int(current_app.config["ACCESS_TOKEN_TTL_SECONDS"])
    token = _serializer().dumps({"sub": operator.id, "ver": operator.token_version or 0})
    return {"access_token": token, "token_type": "bearer", "expires_in": ttl}


def operator_for_token(token: str) -> Operator | None:
    """The active operator a valid, unexpired, unrevoked token names, else None. Inside a request the
    operator becomes its credential (`g.credential = "operator:<id>"`).

    The operator comes back detached (its columns loaded) and the session's transaction, which only read
    it, is ended: auth runs before the body is read and before a partner is called, and a gevent worker
    serves many requests at once, so a connection held meanwhile would drain the pool (15 per process)
    for every other request. Call it before a request writes anything (the guards do)."""
    try:
        claims = _serializer().loads(token, max_age=int(current_app.config["ACCESS_TOKEN_TTL_SECONDS"]))
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
        return None
    operator = db.session.get(Operator, claims["sub"])
    found = operator is not None and operator.is_active and claims.get("ver", 0) == operator.token_version
    if operator is not None:
        db.session.expunge(operator)
    db.session.rollback()  # the read is over: give the connection back to the pool
    if not found:
        return None
    if has_request_context():
        g.credential = f"operator:{operator.id}"
    return operator


def find_operator(email: str) -> Operator | None:
    return db.session.scalar(select(Operator).where(func.lower(Operator.email) == (email or "").strip().lower()))


def all_operators() -> list[Operator]:
    """Every operator, by e-mail."""
    return list(db.session.scalars(select(Operator).order_by(Operator.email)))


def revoke_tokens(operator: Operator) -> None:
    """End every access token and console session issued to `operator` so far (the caller commits)."""
    operator.token_version = (operator.token_version or 0) + 1
    db.session.execute(delete(ConsoleSession).where(ConsoleSession.operator_id == operator.id))


def set_active(operator: Operator, active: bool) -> None:
    """Deactivate (which also revokes every token) or reactivate; a reactivated operator signs in again,
    old tokens stay dead. The caller commits."""
    if not active:
        revoke_tokens(operator)
    operator.is_active = active


def current_operator() -> Operator | None:
    """The operator whose bearer token came with this request, if any (cached on `g`)."""
    if "operator" not in g:
        try:
            g.operator = operator_for_token(bearer_token())
        except BearerProblem:
            g.operator = None
    return g.operator
