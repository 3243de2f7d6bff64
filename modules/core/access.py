"""Who may call a view: the decorators every domain guards its views with.

A domain's `access.py` builds its guards at module level from its 401 (`refuse(reason) -> ApiError`,
reason `missing`, `scheme` or `invalid`): `Guard(refuse)`. Views put `@guard.header_key(...)`,
`@guard.bearer_key(...)` or `@guard.operator()` right under `@blp.route`, so that auth runs before the body
or the query string is read. Each decorator also documents its security scheme and the 401 in the OpenAPI
document (`documented` documents another answer the same way, e.g. a 429).

The caller becomes the request's actor (`actor()`): `operator:<id>` for a signed-in operator, `key:<SETTING>`
for a machine key, named by the setting that holds it (never the key). The audit log records that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, request
from flask_smorest import Blueprint
from marshmallow import Schema

from modules.core import auth, roles
from modules.core.errors import ApiError
from modules.core.schemas import DetailSchema

Refuse = Callable[[str], ApiError]
# flask-smorest's documentation decorators only annotate the view they wrap (`_apidoc`), whatever the
# blueprint: this one is never registered, so that a guard needs no blueprint and access.py imports no views.
_DOCUMENTS = Blueprint("hub-access", __name__)
Schemes = str | tuple[str, ...]  # OpenAPI security scheme names; several are alternatives (any one will do)
OPERATOR_SCHEME = "operatorBearer"


def refuse_bearer(_reason: str) -> ApiError:
    """The FastAPI-style 401 of a bearer-token endpoint, the same whatever was wrong with the token: the core's
    admin API, SentraTech's and Insight's operator endpoints answer it."""
    return ApiError(401, body={"detail": "Invalid authentication credentials"}, headers={"WWW-Authenticate": "Bearer"})


def refuse_role(needed: roles.Needed) -> ApiError:
    """The 403 of a signed-in operator whose role does not allow the view, in the `{"detail"}` envelope."""
    named = " or ".join((needed,) if isinstance(needed, str) else needed or ())
    return ApiError(403, body={"detail": f"This needs the {named} role"})


def documented(status: int, schema: type[Schema] | Schema = DetailSchema, description: str | None = None) -> Callable:
    """Document one more answer of a view in the OpenAPI document (`@blp.alt_response` without the blueprint)."""
    return _DOCUMENTS.alt_response(status, schema=schema, description=description)


def actor() -> str:
    """Who made this request, for the audit log: `operator:<id>`, `key:<SETTING>`, else `system`."""
    return g.get("actor", "system")


class Guard:
    """A domain's decorators. `error_schema` and `description` document its 401 (the description defaults
    to the reason phrase, "Unauthorized")."""

    def __init__(self, refuse: Refuse, error_schema: type[Schema] | Schema = DetailSchema,
                 description: str | None = None):
        self.refuse = refuse
        self.error_schema, self.description = error_schema, description

    def header_key(self, header: str, *settings: str, scheme: Schemes) -> Callable:
        """A key in `header` that one of `settings` (comma-separated lists) holds."""

        def check() -> None:
            given = request.headers.get(header)
            setting = _matching_setting(given, settings)
            if setting is None:
                raise self.refuse("missing" if not given else "invalid")
            g.actor = f"key:{setting}"

        return self._guard(check, scheme)

    def bearer_key(self, *settings: str, scheme: Schemes, operators: bool = False) -> Callable:
        """A bearer token that one of `settings` holds, or with `operators` a signed-in operator's token."""

        def check() -> None:
            token = self._bearer()
            setting = _matching_setting(token, settings)
            if setting is not None:
                g.actor = f"key:{setting}"
                return
            if operators:
                operator = auth.operator_for_token(token)
                if operator is not None:
                    g.operator, g.actor = operator, f"operator:{operator.id}"
                    return
            raise self.refuse("invalid")

        return self._guard(check, scheme)

    def operator(self, scheme: Schemes = OPERATOR_SCHEME, role: roles.Needed = None) -> Callable:
        """A signed-in operator's bearer token (`auth.current_operator()` in the view); with `role`, one whose
        role allows it (modules/core/roles.py), else a 403 `{"detail"}`."""

        def check() -> None:
            operator = auth.current_operator()
            if operator is None:
                raise self.refuse("invalid")
            g.actor = f"operator:{operator.id}"
            if not roles.allows(operator.role, role):
                raise refuse_role(role)

        guarded = self._guard(check, scheme)
        if role is None:
            return guarded
        return lambda view: guarded(documented(403, description="The operator's role does not allow it")(view))

    def _bearer(self) -> str:
        try:
            return auth.bearer_token()
        except auth.BearerProblem as problem:
            raise self.refuse(problem.reason) from None

    def _guard(self, check: Callable[[], None], scheme: Schemes) -> Callable:
        schemes = (scheme,) if isinstance(scheme, str) else scheme

        def decorate(view: Callable) -> Callable:
            described = documented(401, self.error_schema, self.description)(view)
            described = Blueprint.doc(security=[{name: []} for name in schemes])(described)

            @functools.wraps(described)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                check()
                return described(*args, **kwargs)

            return guarded

        return decorate


def _matching_setting(given: str | None, settings: tuple[str, ...]) -> str | None:
    """The first of `settings` that holds `given`. Every key of every setting is compared (in constant time
    each), so the time taken does not tell which setting, or whether any, matched."""
    matched = None
    for setting in settings:
        if auth.key_matches(given, auth.configured_keys(setting)) and matched is None:
            matched = setting
    return matched
