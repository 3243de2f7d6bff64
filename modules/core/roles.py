"""Operator roles, checked server-side on every view that needs one: the API's guards
(`Guard.operator(role=...)`) and the console's pages (`modules/console/access.py`). Navigation only hides
what a role may not use.

- `admin`: everything (deliveries, the audit log, operators, the outbox API, every domain).
- `operator`: the office's domain work: tracked links, SentraTech forms, FASTCore leads, Insight customers.
- `agent`: DTech sales agents: their sales processes and call recordings.
"""

from __future__ import annotations

ADMIN = "admin"
OPERATOR = "operator"
AGENT = "agent"
ROLES = (ADMIN, OPERATOR, AGENT)
Needed = str | tuple[str, ...] | None


def allows(role: str | None, needed: Needed) -> bool:
    """Whether an operator with `role` may use what needs `needed`: None (any signed-in operator), a role,
    or several (any of them). An admin may use everything."""
    if role not in ROLES:
        return False
    if needed is None or role == ADMIN:
        return True
    return role in ((needed,) if isinstance(needed, str) else needed)
