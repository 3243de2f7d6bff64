"""Offset paging, the same everywhere: `?limit=&offset=` in, `{"total", "limit", "offset", <items>}` out.

A domain's list query schema inherits `PageQuerySchema` (overriding `limit` for another default or
maximum), its page schema inherits `PageSchema` and adds its list, and its service calls `page(query,
limit, offset, order_by...)`. Insight's front end reads another envelope (page numbers); its schemas
keep that shape and still use `MAX_OFFSET` and `page`.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from sqlalchemy import Select, func, select

from modules.core.extensions import db
from modules.core.fields import LaxInteger
from modules.core.schemas import RequestSchema

MAX_OFFSET = 10_000_000  # past this an OFFSET scan costs the database more than any operator's page is worth


def limit_field(default: int = 50, maximum: int = 200) -> LaxInteger:
    return LaxInteger(load_default=default, validate=validate.Range(min=1, max=maximum))


def offset_field() -> LaxInteger:
    return LaxInteger(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


class PageQuerySchema(RequestSchema):
    limit = limit_field()
    offset = offset_field()


class PageSchema(Schema):
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


def page(query: Select, limit: int, offset: int, *order_by: Any) -> tuple[int, list[Any]]:
    """(how many rows `query` selects in all, the rows of this page in `order_by` order)."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.order_by(*order_by).limit(limit).offset(offset)).all()
    return total, list(rows)
