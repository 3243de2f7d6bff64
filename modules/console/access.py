"""Who may open a console page: `@page()` for any signed-in operator, `@page(roles.ADMIN)` for admins,
`@page(roles.OPERATOR)` for operators (and admins), `@page(roles.AGENT)` for DTech agents (and admins).

Checked server-side on every request, GET and POST alike: a page's link being hidden from the navigation
is a convenience, never the check. A visitor who is not signed in is sent to the sign-in page (and back
afterwards); a signed-in operator whose role does not allow the page gets a 403 page. The operator
becomes the request's actor (`operator:<id>`), as with the APIs, so the services audit console actions
the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import abort, g, redirect, request, url_for

from modules.console import sessions
from modules.core import roles


def page(role: roles.Needed = None, background: bool = False) -> Callable[[Callable], Callable]:
    """`background`: the view is called by the page itself, not by the person (the live stream), so it does
    not count as activity for the idle timeout; console.js's region refreshes say so with a header."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            operator = sessions.current(active=not background and not sessions.background_request())
            if operator is None:
                return redirect(url_for("console.login", next=back_to()), 303)
            # The operator is the request's actor (audit) and credential (rate limits count it, as with the
            # same operator's API tokens: modules/core/security.py).
            g.operator, g.actor = operator, f"operator:{operator.id}"
            g.credential = g.actor
            if not roles.allows(operator.role, role):
                abort(403, "Your role does not allow this page.")
            return view(*args, **kwargs)

        return guarded

    return decorate


def back_to() -> str:
    """Where to return after signing in: this page for a GET, else the page the form was on."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    return safe_next(request.referrer)


def safe_next(target: str | None) -> str:
    """`target` if it is a console path on this host, else the overview: never an open redirect, nor a
    path a browser would resolve out of /console (`/console/%2e%2e/track/x` opens /track/x, whose
    redirect goes wherever a link points)."""
    if not target:
        return url_for("console.overview")
    parts = urlsplit(target)
    if (parts.scheme or parts.netloc) and parts.netloc != request.host:
        return url_for("console.overview")
    if not _stays_in_console(parts.path):
        return url_for("console.overview")
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _stays_in_console(path: str) -> bool:
    """Whether a browser resolving `path` stays under /console: it reads a backslash as a slash and a
    percent-encoded dot as a dot, so no segment may be `.` or `..` once read so."""
    segments = unquote(path).replace("\\", "/").split("/")
    if segments[:2] != ["", "console"]:
        return False
    return not any(segment in (".", "..") for segment in segments)
