"""The console's session cookie, and no cookie anywhere else.

The APIs authenticate every call with a key or a bearer token and keep no state in cookies: outside
`/console` no session is opened or saved, which spares every API request the cookie machinery. Under
`/console` Flask's signed cookie session holds the sign-in's random token (the `console_session` row holds
its hash, modules/console/sessions.py) and the CSRF token. The cookie is HttpOnly, SameSite=Lax, scoped
to /console, and Secure in production (configure_cookie).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

CONSOLE_PATH = "/console"


class ConsoleOnlySessions(SecureCookieSessionInterface):
    """Flask's signed cookie session under /console; a null session (empty, read-only) elsewhere."""

    def open_session(self, app: Flask, request: Any) -> Any:
        if not under_console(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: Any, response: Any) -> None:
        if self.is_null_session(session):
            return None
        return super().save_session(app, session, response)


def under_console(path: str) -> bool:
    return path == CONSOLE_PATH or path.startswith(CONSOLE_PATH + "/")


def configure_cookie(app: Flask) -> None:
    app.session_interface = ConsoleOnlySessions()
    app.config.update(
        SESSION_COOKIE_NAME="hub_console",
        SESSION_COOKIE_PATH=CONSOLE_PATH,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(app.config.get("IS_PRODUCTION")),
        SESSION_REFRESH_EACH_REQUEST=False,
    )
