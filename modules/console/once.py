"""One send per form: a form whose action must not run twice (an SMS from a template, a bulk SMS, a sale's
start) carries a random `once` token. The first POST with it claims the token in Redis (SET NX, for
TOKEN_SECONDS); a second one (a double click, a reload of the POST, Back and submit again) finds it claimed
and does nothing. A refused action releases its token, so the same form can be sent again once fixed.

When Redis does not answer the claim succeeds, as the rate limits let requests through then (the action
itself does not depend on Redis); a POST without a token (a script, not a console page) is not guarded.
"""

from __future__ import annotations

import re
import secrets

from flask import request

from modules.console.blueprint import blp
from modules.core.redis_client import REDIS_ERRORS, get_redis

FIELD = "once"
TOKEN_SECONDS = 3600
SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
ALREADY = "This form was already sent (a double click or a reload): nothing was done again."


@blp.app_template_global("once_token")
def token() -> str:
    """A fresh token for a form's hidden `once` field (the `once()` macro of _macros.html)."""
    return secrets.token_urlsafe(16)


def _key(given: str) -> str:
    return f"console:once:{given}"


def claim() -> bool:
    """Whether this POST is the first with its form's token (True without a token, or when Redis is down)."""
    given = request.form.get(FIELD, "")
    if not given:
        return True
    if not SHAPE.fullmatch(given):
        return False
    try:
        return bool(get_redis().set(_key(given), "1", nx=True, ex=TOKEN_SECONDS))
    except REDIS_ERRORS:
        return True


def release() -> None:
    """Let the form's token be used again (its action was refused: nothing was done)."""
    given = request.form.get(FIELD, "")
    if not SHAPE.fullmatch(given):
        return
    try:
        get_redis().delete(_key(given))
    except REDIS_ERRORS:
        pass
