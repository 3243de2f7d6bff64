"""Offset paging, the same everywhere: `?limit=&offset=` in, `{"total", "limit", "offset", <items>}` out.

A domain's list query schema inherits `PageQuerySchema` (overriding `limit` with `limit_field(default,
maximum)` for another default or maximum), its page schema inherits `PageSchema` and adds its list, and its
service calls `page(query, limit, offset, order_by...)`. The schemas live in `modules/core/schemas.py`
beside `RequestSchema` and are named here too. Insight's and DTech's front ends read numbered pages
(`{data, total, page, limit, pages}`); their schemas keep that shape and still use `MAX_OFFSET` and `page`.

The console's lists page by keyset instead (`newest_page`, `every_newest`): an opaque cursor of the last row's
(created_at, id), so a page deep in a large table costs what the first one does.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, func, select, tuple_

from modules.core.exceptions import Invalid
from modules.core.extensions import db
from modules.core.schemas import MAX_OFFSET, PageQuerySchema, PageSchema, limit_field

__all__ = ["MAX_OFFSET", "PageQuerySchema", "PageSchema", "every_newest", "limit_field", "newest_page", "page"]


def page(query: Select, limit: int, offset: int, *order_by: Any) -> tuple[int, list[Any]]:
    """(how many rows `query` selects in all, the rows of this page in `order_by` order)."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.order_by(*order_by).limit(limit).offset(offset)).all()
    return total, list(rows)


def newest_page(query: Select, created_at: Any, row_id: Any, limit: int,
                after: str | None = None) -> tuple[list[Any], str | None]:
    """Keyset paging, newest first (the console's lists): (up to `limit` rows of `query` ordered by
    (`created_at`, `row_id`) descending, below the cursor `after`; the cursor of the next page, None on the
    last). No OFFSET and no COUNT: every page costs the same, read from an index on (created_at, id) or
    created_at. The rows must have `created_at` and `id` attributes. Raises `Invalid` for a cursor this
    function did not give."""
    if after:
        query = query.where(tuple_(created_at, row_id) < tuple_(*_position(after)))
    found = list(db.session.scalars(query.order_by(created_at.desc(), row_id.desc()).limit(limit + 1)))
    return found[:limit], (_cursor(found[limit - 1]) if len(found) > limit else None)


def every_newest(query: Select, created_at: Any, row_id: Any, batch: int = 500) -> Iterator[Any]:
    """Every row of `query`, newest first, read `batch` at a time with `newest_page` (for a CSV export)."""
    after = None
    while True:
        found, after = newest_page(query, created_at, row_id, batch, after)
        yield from found
        if after is None:
            return


def _cursor(row: Any) -> str:
    return base64.urlsafe_b64encode(f"{row.created_at.isoformat()}|{row.id}".encode()).decode().rstrip("=")


def _position(cursor: str) -> tuple[datetime, str]:
    try:
        created, row_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|", 1)
        moment = datetime.fromisoformat(created)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("the page cursor (after) is not one this list gave") from None
    return (moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)), row_id
