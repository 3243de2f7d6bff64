"""Bearer auth of the FASTCore paths, with the contract's exact 401 answers.

The site token opens only POST /inbound/leads; the admin API takes FASTCORE_ADMIN_TOKEN or a signed-in
operator's access token. Guards are the outermost decorators of a view, so auth runs before the body
or the query string is validated.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g

from modules.core.auth import BearerProblem, bearer_token, configured_keys, key_matches, operator_for_token
from modules.core.errors import ApiError

DETAILS = {
    "missing": "Missing Authorization header",
    "scheme": "Invalid auth scheme (use 'Bearer <token>')",
    "invalid": "Invalid token",
}


def _refuse(reason: str) -> ApiError:
    return ApiError(401, body={"detail": DETAILS[reason]}, headers={"WWW-Authenticate": "Bearer"})


def _token() -> str:
    try:
        return bearer_token()
    except BearerProblem as problem:
        raise _refuse(problem.reason) from None


def require_site_token(view: Callable) -> Callable:
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not key_matches(_token(), configured_keys("FASTCORE_SITE_INGEST_TOKEN")):
            raise _refuse("invalid")
        return view(*args, **kwargs)

    return guarded


def require_admin(view: Callable) -> Callable:
    """Sets `g.fastcore_actor`: "admin-token" or "operator:<id>" (an id, never an e-mail)."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        token = _token()
        if key_matches(token, configured_keys("FASTCORE_ADMIN_TOKEN")):
            g.fastcore_actor = "admin-token"
        else:
            operator = operator_for_token(token)
            if operator is None:
                raise _refuse("invalid")
            g.fastcore_actor = f"operator:{operator.id}"
        return view(*args, **kwargs)

    return guarded


def actor() -> str:
    return g.fastcore_actor
