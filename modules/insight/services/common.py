"""Small pieces every Insight service uses: errors in the contract's shapes, ids, commits that may meet a
concurrent request, pagination, the actor."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import Select, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from modules.core.errors import ApiError
from modules.core.extensions import db
from modules.core.models import Operator
from modules.core.paging import page
from modules.insight.models import Customer


def not_found(what: str = "Customer") -> ApiError:
    return ApiError(404, body={"detail": f"{what} not found"})


def domain_error(status: int, code: str, message: str, **details: Any) -> ApiError:
    """The contract's nested error: {"detail": {"error_code", "message", "details"}}."""
    return ApiError(status, body={"detail": {"error_code": code, "message": message, "details": details}})


def canonical_id(value: str) -> str | None:
    """An id as stored: the canonical spelling (lower case, hyphenated) of a UUID written any way PostgreSQL's
    uuid type reads one (`6F1C...`, without hyphens, in braces); None for anything else, which is then
    simply not found. Ids are compared as stored text, so every look-up by id goes through here."""
    match = _UUID_SPELLING.fullmatch(value) if len(value) <= 41 else None
    if match is None or (match["open"] == "{") != (match["close"] == "}"):
        return None
    return str(uuid.UUID(match["hex"].replace("-", "")))


_UUID_SPELLING = re.compile(r"(?P<open>\{?)(?P<hex>(?:[0-9a-fA-F]{4}-?){7}[0-9a-fA-F]{4})(?P<close>\}?)")


def get_customer(customer_id: str) -> Customer:
    """The customer of an id written any way (see canonical_id), or a 404."""
    key = canonical_id(customer_id)
    customer = db.session.get(Customer, key) if key else None
    if customer is None:
        raise not_found()
    return customer


def commit_written(record: Any, refusals: Mapping[type[Exception], Callable[[], ApiError]]) -> dict[str, Any]:
    """Flush and commit the session, and return `record`'s columns as this request wrote them, so that the
    answer holds even when a concurrent request deletes the row right after the commit (reading an
    expired record again would fail). An error of a type in `refusals`, met at flush or commit because a
    concurrent request changed the same rows (a unique or foreign key violated, an UPDATE that matched no
    row), rolls back and raises the ApiError its function makes."""
    try:
        db.session.flush()
        values = {column.key: getattr(record, column.key) for column in inspect(record).mapper.column_attrs}
        db.session.commit()
    except tuple(refusals) as exc:
        db.session.rollback()
        raise next(make() for kind, make in refusals.items() if isinstance(exc, kind)) from exc
    return values


# A customer deleted by a concurrent request meanwhile: the same 404 as a request a moment later would get.
CUSTOMER_GONE: dict[type[Exception], Callable[[], ApiError]] = {IntegrityError: not_found, StaleDataError: not_found}


def actor_name(operator: Operator) -> str:
    """How an operator is named in `performed_by`: the name they were given, else their e-mail."""
    return operator.name or operator.email


def paginate(query: Select, page_number: int, limit: int, *order_by: Any) -> dict[str, Any]:
    """One page of `query` in `order_by` order, in the envelope the front end reads: {"data", "total", "page",
    "limit", "pages"} (pages counted from 1)."""
    total, rows = page(query, limit, (page_number - 1) * limit, *order_by)
    return {"data": rows, "total": total, "page": page_number, "limit": limit, "pages": math.ceil(total / limit)}
