"""Operator accounts as an admin manages them: create, change role, deactivate and reactivate, revoke tokens,
issue a one-time password link, list. The one implementation behind `flask operators ...` (actor `cli`)
and the console's operators pages (actor `operator:<id>`); every change commits with its audit entry.

Refusals are domain exceptions with a message for the person: `Invalid` (a bad e-mail, a short password,
an unknown role, the last active admin), `Conflict` (an e-mail already taken), `NotFound`. Audit details
name roles, never an e-mail (the audit log holds no personal data).

The last active admin is never deactivated nor demoted from an operator's console: nobody could then manage
accounts or deliveries. The CLI may (`allow_no_admin=True`): whoever has a shell can always create an
admin again, and the existing `flask operators deactivate` keeps working on a one-admin install.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from modules.core import audit, auth, password_reset, roles
from modules.core.exceptions import Conflict, Invalid, NotFound
from modules.core.extensions import db
from modules.core.models import ConsoleSession, Operator
from modules.core.types import utcnow

MAX_EMAIL = 254  # the column's size
MAX_NAME = 200
LAST_ADMIN = ("{what} the last active admin is refused: nobody could manage operators or deliveries "
              "afterwards. Make another operator an admin first.")


@dataclass(frozen=True)
class Created:
    """A new operator, and the one-time link to set their password when none was given (else None)."""

    operator: Operator
    link: str | None


@dataclass(frozen=True)
class Listed:
    operator: Operator
    open_sessions: int  # console sign-ins not yet ended nor timed out


def valid_email(email: str) -> str:
    """`email` trimmed and normalised (syntax only, no DNS), lower case as sign-in compares it; `Invalid`."""
    text = (email or "").strip()
    if not text:
        raise Invalid("Give the operator's e-mail address.")
    try:
        normalised = validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise Invalid(f"Not a valid e-mail address: {error}") from error
    if len(normalised) > MAX_EMAIL:
        raise Invalid(f"The e-mail address has more than {MAX_EMAIL} characters.")
    return normalised


def valid_role(role: str) -> str:
    if role not in roles.ROLES:
        raise Invalid(f"Unknown role {role!r}: one of {', '.join(roles.ROLES)}.")
    return role


def create(email: str, name: str, role: str, password: str | None, *, actor: str) -> Created:
    """A new active operator. With a `password` (at least MIN_PASSWORD_CHARS) they sign in with it; with
    none (None or blank) they get a random one nobody knows and `Created.link` is their one-time link to set
    their own. Commits; audited `operator.created`."""
    email, role = valid_email(email), valid_role(role)
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise Invalid(f"The name has more than {MAX_NAME} characters.")
    if "\x00" in name:
        raise Invalid("The name must not contain NUL (0x00) characters.")
    if password and len(password) < password_reset.MIN_PASSWORD_CHARS:
        raise Invalid(f"Use at least {password_reset.MIN_PASSWORD_CHARS} characters for the password.")
    if auth.find_operator(email) is not None:
        raise Conflict(f"An operator with the e-mail {email} exists.")
    operator = auth.create_operator(email, password or secrets.token_urlsafe(32), name, role)
    try:
        db.session.flush()
    except IntegrityError as error:  # created by someone else between the check and the insert
        db.session.rollback()
        raise Conflict(f"An operator with the e-mail {email} exists.") from error
    audit.record("core", "operator.created", actor=actor, subject_id=operator.id,
                 details={"role": role, "password": "given" if password else "link"})
    link = None if password else password_reset.link(operator)
    db.session.commit()
    return Created(operator, link)


def by_email(email: str) -> Operator:
    operator = auth.find_operator(email)
    if operator is None:
        raise NotFound(f"no operator with the e-mail {(email or '').strip()}")
    return operator


def by_id(operator_id: str) -> Operator:
    operator = None if "\x00" in operator_id else db.session.get(Operator, operator_id)
    if operator is None:
        raise NotFound("No such operator.")
    return operator


def _refuse_removing_last_admin(operator: Operator, what: str) -> None:
    """`Invalid` if `operator` is the only active admin. Locks the active admins' rows (PostgreSQL) so two
    admins removing each other at the same moment cannot both pass."""
    if operator.role != roles.ADMIN or not operator.is_active:
        return
    admins = db.session.scalars(select(Operator.id).where(Operator.role == roles.ADMIN,
                                                          Operator.is_active.is_(True))
                                .with_for_update()).all()
    if set(admins) <= {operator.id}:
        raise Invalid(LAST_ADMIN.format(what=what))


def set_role(operator: Operator, role: str, *, actor: str, allow_no_admin: bool = False) -> None:
    """Give `operator` the `role`; it holds from their next page or API call. Commits; audited."""
    valid_role(role)
    if role == operator.role:
        return
    if role != roles.ADMIN and not allow_no_admin:
        _refuse_removing_last_admin(operator, "Taking the admin role from")
    previous, operator.role = operator.role, role
    audit.record("core", "operator.role_changed", actor=actor, subject_id=operator.id,
                 details={"from": previous, "to": role})
    db.session.commit()


def set_active(operator: Operator, active: bool, *, actor: str, allow_no_admin: bool = False) -> None:
    """Deactivate (every API token and console sign-in of theirs ends at once) or reactivate (they sign in
    again; old tokens stay dead). Commits; audited `operator.deactivated` / `operator.activated`."""
    if not active and not allow_no_admin:
        _refuse_removing_last_admin(operator, "Deactivating")
    auth.set_active(operator, active)
    audit.record("core", "operator.activated" if active else "operator.deactivated", actor=actor,
                 subject_id=operator.id)
    db.session.commit()


def revoke_tokens(operator: Operator, *, actor: str) -> None:
    """End every API token and console sign-in of `operator`; they may sign in again. Commits; audited."""
    auth.revoke_tokens(operator)
    audit.record("core", "operator.tokens_revoked", actor=actor, subject_id=operator.id)
    db.session.commit()


def reset_link(operator: Operator, *, actor: str) -> str:
    """A one-time link where `operator` sets a new password (valid PASSWORD_RESET_HOURS, until used).
    `Invalid` for a deactivated operator. Commits; audited `operator.reset_link_issued`."""
    if not operator.is_active:
        raise Invalid("This operator is deactivated: reactivate them first.")
    audit.record("core", "operator.reset_link_issued", actor=actor, subject_id=operator.id)
    db.session.commit()
    return password_reset.link(operator)


def active_admins() -> int:
    return db.session.scalar(select(func.count()).select_from(Operator)
                             .where(Operator.role == roles.ADMIN, Operator.is_active.is_(True))) or 0


def listing() -> list[Listed]:
    """Every operator by e-mail, with their open console sign-ins (neither idle nor past their absolute
    limit, as modules/console/sessions.py judges them)."""
    now = utcnow()
    open_since = _open_since(now)
    counts = {operator_id: count for operator_id, count in db.session.execute(
        select(ConsoleSession.operator_id, func.count())
        .where(ConsoleSession.last_seen_at > open_since[0], ConsoleSession.created_at > open_since[1])
        .group_by(ConsoleSession.operator_id))}
    return [Listed(operator, counts.get(operator.id, 0)) for operator in auth.all_operators()]


def _open_since(now: datetime) -> tuple[datetime, datetime]:
    """(last seen after, created after): the bounds of a sign-in that has not timed out."""
    config = current_app.config
    return (now - timedelta(minutes=int(config["CONSOLE_IDLE_MINUTES"])),
            now - timedelta(hours=int(config["CONSOLE_SESSION_HOURS"])))
