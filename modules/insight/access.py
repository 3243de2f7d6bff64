"""Every Insight endpoint needs a signed-in operator; a missing, forged or expired token gets the 401
the front end reads. Use `@signed_in` right under `@blp.route`, so that auth runs before validation."""

from __future__ import annotations

from modules.core.auth import require_operator
from modules.core.errors import ApiError


def _unauthorized() -> ApiError:
    return ApiError(401, body={"detail": "Invalid authentication credentials"},
                    headers={"WWW-Authenticate": "Bearer"})


signed_in = require_operator(_unauthorized)
