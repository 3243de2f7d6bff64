"""Console sign-ins: a random token in the cookie, its SHA-256 in `console_session`.

A sign-in ends when the operator signs out, after CONSOLE_IDLE_MINUTES without a request, after
CONSOLE_SESSION_HOURS whatever happens, and at once when the operator is deactivated, gets a new password
or has their tokens revoked (`auth.revoke_tokens` deletes their rows). The operator's role is read from
their row on every request, so a role change holds from the next page.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, g, request, session
from sqlalchemy import delete, select

from modules.core import audit
from modules.core.extensions import db
from modules.core.models import ConsoleSession, Operator
from modules.core.types import utcnow

TOKEN_KEY = "sid"
BACKGROUND_HEADER = "X-Requested-With"  # console.js sends "fetch" when it refreshes a live region
SEEN_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often (one UPDATE a minute)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign_in(operator: Operator) -> None:
    """Start a sign-in for `operator`: a fresh cookie session (a new CSRF token with it, so a session fixed
    before sign-in is worth nothing), its row, an audit entry; commits."""
    token = secrets.token_urlsafe(32)
    session.clear()
    session[TOKEN_KEY] = token
    now = utcnow()
    db.session.add(ConsoleSession(token_hash=_digest(token), operator_id=operator.id, created_at=now,
                                  last_seen_at=now))
    audit.record("core", "console.signed_in", actor=f"operator:{operator.id}", subject_id=operator.id)
    db.session.commit()


def sign_out() -> None:
    """End this browser's sign-in (its row and its cookie); commits."""
    operator = current()
    token = session.get(TOKEN_KEY)
    if token:
        db.session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _digest(token)))
    if operator is not None:
        audit.record("core", "console.signed_out", actor=f"operator:{operator.id}", subject_id=operator.id)
    db.session.commit()
    session.clear()
    g.console_operator = None


def current(active: bool = True) -> Operator | None:
    """The active operator signed in on this browser, or None (no cookie, signed out, timed out, revoked).
    `active`: this request is the person's doing and restarts the idle time; a page's own background
    requests (its live stream, its region refreshes) are not, so an open tab left alone still times out.
    Cached on `g` for the request."""
    if "console_operator" not in g:
        g.console_operator = _look_up(active)
    return g.console_operator


def background_request() -> bool:
    """Whether console.js made this request by itself (a live region's refresh)."""
    return request.headers.get(BACKGROUND_HEADER) == "fetch"


def _look_up(active: bool) -> Operator | None:
    token = session.get(TOKEN_KEY)
    if not isinstance(token, str):
        return None
    found = db.session.execute(select(ConsoleSession, Operator).join(Operator)
                               .where(ConsoleSession.token_hash == _digest(token))).first()
    if found is None:
        return None
    row, operator = found
    now = utcnow()
    idle = timedelta(minutes=int(current_app.config["CONSOLE_IDLE_MINUTES"]))
    longest = timedelta(hours=int(current_app.config["CONSOLE_SESSION_HOURS"]))
    if not operator.is_active or now - row.last_seen_at > idle or now - row.created_at > longest:
        db.session.delete(row)
        db.session.commit()
        return None
    if active and now - row.last_seen_at > SEEN_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return operator
