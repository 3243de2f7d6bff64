"""Signing in and out of the console, and setting a password from a one-time link.

Sign-in uses the operator accounts and the same throttle as `POST /api/auth/login`
(modules/core/login_throttle.py): past a limit the page says how long to wait, with a 429.
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for

from modules.console import sessions
from modules.console.access import page, safe_next
from modules.console.blueprint import blp
from modules.core import audit, auth, login_throttle, password_reset
from modules.core.extensions import db


@blp.route("", strict_slashes=False)
def home():
    return redirect(url_for("console.overview"))


@blp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in form; on success, back to the page that asked for it (`next`, console paths only)."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if sessions.current() is not None:
            return redirect(target, 303)
        return render_template("console/login.html", next=target, email="")
    email = (request.form.get("email") or "").strip()
    password = request.form.get("password") or ""
    try:
        attempt = login_throttle.begin(email, request.remote_addr)
    except login_throttle.Throttled as throttled:
        return render_template("console/login.html", next=target, email=email, error=str(throttled)), 429, \
            {"Retry-After": str(throttled.retry_after)}
    operator = auth.authenticate(email, password)
    if operator is None:
        return render_template("console/login.html", next=target, email=email,
                               error="Incorrect e-mail or password."), 401
    attempt.succeeded()
    sessions.sign_in(operator)
    return redirect(target, 303)


@blp.route("/logout", methods=["POST"])
@page()
def logout():
    sessions.sign_out()
    return redirect(url_for("console.login"), 303)


@blp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a new password from a one-time link; every token and console session of the operator ends."""
    operator = password_reset.operator_for(token)
    if operator is None:
        return render_template("console/reset.html", invalid=True), 404
    if request.method == "GET":
        return render_template("console/reset.html", email=operator.email)
    problem = password_reset.password_problem(request.form.get("password") or "", request.form.get("repeat") or "")
    if problem:
        return render_template("console/reset.html", email=operator.email, error=problem), 422
    auth.set_password(operator, request.form["password"])
    audit.record("core", "operator.password_set", actor=f"operator:{operator.id}", subject_id=operator.id)
    db.session.commit()
    current_app.logger.info("operator password set from a one-time link")
    return render_template("console/login.html", next=url_for("console.overview"), email=operator.email,
                           notice="Your password is set; sign in with it."), 200
