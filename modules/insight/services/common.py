"""Small pieces every Insight service uses: the domain's refusals, who acts, ids, commits that may meet a
concurrent request, pagination.

Services refuse with the core's domain exceptions (`NotFound`, `Conflict`, `Invalid`, `Unavailable`),
giving a `code` where the contract names one (`CUSTOMER_ALREADY_EXISTS`, ...) and its `details`, or with
the Insight ones below; they know nothing of HTTP. The routes turn them into the contract's answers."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from modules.core.exceptions import DomainError, Invalid, NotFound
from modules.core.extensions import db
from modules.core.paging import page
from modules.insight.models import Customer


class InvalidFields(Invalid):
    """Fields of the request that cannot be accepted: `details` are marshmallow's messages, keyed by the
    field's path in the body (`{"recipients": {3: ["..."]}}`; `_schema` for the body as a whole)."""


class UnusableInput(DomainError):
    """The input as a whole cannot be used: a file that is not a customer spreadsheet, too many rows."""


class DailyCapReached(DomainError):
    """A send would take today's SMS segments over a daily cap; `retry_after`: seconds until the next UTC
    midnight, when the count starts again."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class BalanceTooLow(DomainError):
    """Arkesel's balance cannot pay for a send."""


def not_found(what: str = "Customer") -> NotFound:
    return NotFound(f"{what} not found")


@dataclass(frozen=True)
class Actor:
    """Who acts: `audit` as the audit log names callers (`operator:<id>`, see core access.actor(); `cli` from a
    shell), `name` as the domain's records name them in `performed_by` (an operator's name, else e-mail)."""

    audit: str
    name: str


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


def commit_written(record: Any, refusals: Mapping[type[Exception], Callable[[], DomainError]]) -> dict[str, Any]:
    """Flush and commit the session, and return `record`'s columns as this request wrote them, so that the
    answer holds even when a concurrent request deletes the row right after the commit (reading an
    expired record again would fail). An error of a type in `refusals`, met at flush or commit because a
    concurrent request changed the same rows (a unique or foreign key violated, an UPDATE that matched no
    row), rolls back and raises the refusal its function makes."""
    try:
        db.session.flush()
        values = {column.key: getattr(record, column.key) for column in inspect(record).mapper.column_attrs}
        db.session.commit()
    except tuple(refusals) as exc:
        db.session.rollback()
        raise next(make() for kind, make in refusals.items() if isinstance(exc, kind)) from exc
    return values


# A customer deleted by a concurrent request meanwhile: the same 404 as a request a moment later would get.
CUSTOMER_GONE: dict[type[Exception], Callable[[], DomainError]] = {IntegrityError: not_found, StaleDataError: not_found}


def paginate(query: Select, page_number: int, limit: int, *order_by: Any) -> dict[str, Any]:
    """One page of `query` in `order_by` order, in the envelope the front end reads: {"data", "total", "page",
    "limit", "pages"} (pages counted from 1)."""
    total, rows = page(query, limit, (page_number - 1) * limit, *order_by)
    return {"data": rows, "total": total, "page": page_number, "limit": limit, "pages": math.ceil(total / limit)}
