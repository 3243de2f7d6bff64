"""The operator console, `/console`: server-rendered pages (Jinja, plain HTML forms that work without
JavaScript, our own small scripts for live updates and confirmations), signed in with a session cookie.

`init_app(app)` is called by the app factory for every app: the cookie session under /console
(cookies.py), CSRF protection on every state-changing console form (Flask-WTF), HTML error pages, and the
blueprint with every page module.
"""

from __future__ import annotations

from flask import Flask, Response, abort, g, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

# The page modules (overview, signin, ...) add their views to `blp` when imported.
from modules.console import (  # noqa: F401
    audit_pages,
    cookies,
    deliveries,
    export,
    formatting,
    forms_pages,
    insight,
    leads_pages,
    links,
    live,
    once,
    operators,
    overview,
    sales,
    signin,
    upload_pages,
)
from modules.console.blueprint import blp, navigation
from modules.core.errors import register_page_errors

csrf = CSRFProtect()


@blp.before_request
def protect_forms():
    """Every POST under /console carries the session's CSRF token (in the form, or X-CSRFToken)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        try:
            csrf.protect()
        except CSRFError:
            abort(400, "This form expired or did not come from this console (its CSRF token is missing or wrong): "
                       "reload the page and try again.")


@blp.context_processor
def layout():
    operator = g.get("operator")
    return {"operator": operator, "nav": navigation(operator.role if operator else None),
            "csv_link": export.csv_link, "page_args": formatting.page_args}


def render_error(status: int, message: str, headers: dict[str, str] | None = None):
    """An error under /console as a page (the APIs answer JSON in their envelopes)."""
    return render_template("console/error.html", status=status, message=message), status, headers or {}


def never_stored(response: Response) -> Response:
    """No console page is kept by the browser (`no-store`, unless the view said otherwise): after signing
    out on a shared computer, Back or the disk cache would show operators, e-mails and deliveries again.
    The console's static files keep their own caching (send_file sets it)."""
    if cookies.under_console(request.path) and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    cookies.configure_cookie(app)
    app.after_request(never_stored)
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # the APIs use keys and tokens, not cookies
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the sign-in
    csrf.init_app(app)
    app.register_blueprint(blp)
    register_page_errors(app, cookies.CONSOLE_PATH, render_error)
