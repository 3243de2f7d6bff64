"""Small pieces every Insight service uses: errors in the contract's shapes, pagination, the actor."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Select, func, select

from modules.core.errors import ApiError
from modules.core.extensions import db
from modules.core.models import Operator
from modules.insight.models import Customer


def not_found(what: str = "Customer") -> ApiError:
    return ApiError(404, body={"detail": f"{what} not found"})


def domain_error(status: int, code: str, message: str, **details: Any) -> ApiError:
    """The contract's nested error: {"detail": {"error_code", "message", "details"}}."""
    return ApiError(status, body={"detail": {"error_code": code, "message": message, "details": details}})


def get_customer(customer_id: str) -> Customer:
    customer = db.session.get(Customer, customer_id) if usable_id(customer_id) else None
    if customer is None:
        raise not_found()
    return customer


def usable_id(value: str) -> bool:
    """Whether an id from a URL can be looked up at all (ids are at most 36 characters, never NUL)."""
    return len(value) <= 36 and "\x00" not in value


def actor_name(operator: Operator) -> str:
    """How an operator is named in `performed_by`: the name they were given, else their e-mail."""
    return operator.name or operator.email


def paginate(query: Select, page: int, limit: int) -> dict[str, Any]:
    """Run `query` for one page: {"data", "total", "page", "limit", "pages"}."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(limit).offset((page - 1) * limit)).all()
    return {"data": list(rows), "total": total, "page": page, "limit": limit, "pages": math.ceil(total / limit)}
