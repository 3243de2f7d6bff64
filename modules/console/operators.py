"""The operators pages (admins): the list with each one's open console sign-ins, creating an operator,
and one operator's page to change their role, deactivate or reactivate them, or issue a password link.

Every action goes through modules/core/operator_accounts.py, as `flask operators ...` does, with the
signed-in admin as the actor. A one-time password link is shown once, on the answer to the POST that made
it (never flashed: a flash travels in the session cookie), with `Cache-Control: no-store`.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from modules.console.access import page
from modules.console.blueprint import blp
from modules.core import operator_accounts, roles
from modules.core.access import actor
from modules.core.exceptions import Conflict, DomainError, Invalid, NotFound
from modules.core.models import Operator

NO_STORE = {"Cache-Control": "no-store"}


def _list_page(form: dict[str, str] | None = None, error: str | None = None, status: int = 200):
    return render_template("console/operators.html", listed=operator_accounts.listing(), roles=roles.ROLES,
                           form=form or {"role": roles.OPERATOR}, error=error), status


def _account(operator_id: str) -> Operator:
    try:
        return operator_accounts.by_id(operator_id)
    except NotFound:
        abort(404, "No such operator.")


def _account_page(operator: Operator, error: str | None = None, status: int = 200):
    return render_template("console/operator.html", account=operator, roles=roles.ROLES, error=error), status


def _link_page(operator: Operator, link: str, created: bool):
    return render_template("console/operator_link.html", account=operator, link=link, created=created), 200, \
        NO_STORE


def _after_change(operator: Operator):
    """Back to the operator's page, or to the overview for an admin who just gave up their own admin role
    (the operator's page would now be a 403); one who deactivated themselves meets the sign-in page."""
    if operator.id == g.operator.id and operator.is_active and not roles.allows(operator.role, roles.ADMIN):
        return redirect(url_for("console.overview"), 303)
    return redirect(url_for("console.operators_account", operator_id=operator.id), 303)


@blp.route("/operators")
@page(roles.ADMIN)
def operators():
    return _list_page()


@blp.route("/operators", methods=["POST"])
@page(roles.ADMIN)
def operators_create():
    """Create an operator: with the typed password, or (left blank) with a one-time link shown once."""
    form = {key: (request.form.get(key) or "").strip() for key in ("email", "name", "role")}
    try:
        created = operator_accounts.create(form["email"], form["name"], form["role"],
                                           request.form.get("password") or None, actor=actor())
    except (Invalid, Conflict) as refusal:
        return _list_page(form, refusal.message, 422)
    if created.link:
        return _link_page(created.operator, created.link, created=True)
    flash(f"Operator {created.operator.email} created with the role {created.operator.role}.", "ok")
    return redirect(url_for("console.operators"), 303)


@blp.route("/operators/<operator_id>")
@page(roles.ADMIN)
def operators_account(operator_id: str):
    return _account_page(_account(operator_id))


@blp.route("/operators/<operator_id>/role", methods=["POST"])
@page(roles.ADMIN)
def operators_set_role(operator_id: str):
    """Change the role; it holds from the operator's next page or API call."""
    operator = _account(operator_id)
    role = request.form.get("role") or ""
    try:
        operator_accounts.set_role(operator, role, actor=actor())
    except Invalid as refusal:
        return _account_page(operator, refusal.message, 422)
    flash(f"{operator.email} now has the role {operator.role}.", "ok")
    return _after_change(operator)


@blp.route("/operators/<operator_id>/active", methods=["POST"])
@page(roles.ADMIN)
def operators_set_active(operator_id: str):
    """`active=0` deactivates (their API tokens and console sign-ins end at once), `active=1` reactivates."""
    operator = _account(operator_id)
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        return _account_page(operator, "Choose to deactivate or to reactivate.", 422)
    try:
        operator_accounts.set_active(operator, wanted == "1", actor=actor())
    except Invalid as refusal:
        return _account_page(operator, refusal.message, 422)
    flash(f"{operator.email} " + ("reactivated: they sign in again." if wanted == "1" else
                                  "deactivated: their sign-ins and tokens have ended."), "ok")
    return _after_change(operator)


@blp.route("/operators/<operator_id>/reset-link", methods=["POST"])
@page(roles.ADMIN)
def operators_reset_link(operator_id: str):
    """A one-time link where the operator sets a new password, shown once on this answer."""
    operator = _account(operator_id)
    try:
        link = operator_accounts.reset_link(operator, actor=actor())
    except DomainError as refusal:
        return _account_page(operator, refusal.message, 422)
    return _link_page(operator, link, created=False)
