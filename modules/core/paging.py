"""Offset paging, the same everywhere: `?limit=&offset=` in, `{"total", "limit", "offset", <items>}` out.

A domain's list query schema inherits `PageQuerySchema` (overriding `limit` with `limit_field(default,
maximum)` for another default or maximum), its page schema inherits `PageSchema` and adds its list, and its
service calls `page(query, limit, offset, order_by...)`. The schemas live in `modules/core/schemas.py`
beside `RequestSchema` and are named here too. Insight's and DTech's front ends read numbered pages
(`{data, total, page, limit, pages}`); their schemas keep that shape and still use `MAX_OFFSET` and `page`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select

from modules.core.extensions import db
from modules.core.schemas import MAX_OFFSET, PageQuerySchema, PageSchema, limit_field

__all__ = ["MAX_OFFSET", "PageQuerySchema", "PageSchema", "limit_field", "page"]


def page(query: Select, limit: int, offset: int, *order_by: Any) -> tuple[int, list[Any]]:
    """(how many rows `query` selects in all, the rows of this page in `order_by` order)."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.order_by(*order_by).limit(limit).offset(offset)).all()
    return total, list(rows)
