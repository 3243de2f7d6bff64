"""Operator roles: `admin` may do everything (deliveries, operators, the outbox API, metrics); `operator`
does domain work (Insight customers, DTech sales, tracked links, the console's domain pages).

A role is checked server-side on every view that needs one: the API's guards (`Guard.operator(role=...)`)
and the console's pages (`modules/console/access.py`). Navigation only hides what a role may not use.
"""

from __future__ import annotations

ADMIN = "admin"
OPERATOR = "operator"
ROLES = (ADMIN, OPERATOR)
_RANK = {OPERATOR: 0, ADMIN: 1}


def allows(role: str | None, needed: str | None) -> bool:
    """Whether an operator with `role` may use what needs `needed` (None: any signed-in operator)."""
    if needed is None:
        return role in _RANK
    return _RANK.get(role or "", -1) >= _RANK[needed]
