"""Click analytics, per link or overall, over a window of whole UTC days ending today.

Every figure counts the clicks of the same window, [since, until): from midnight UTC `days - 1` days ago
to the midnight that ends today. So the total is always the sum of the per-day series, and a click dated
later than today (a client clock up to a day ahead) or before the window counts in none of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import distinct, func, select

from modules.core.extensions import db
from modules.core.sql import on_postgresql
from modules.core.types import isoformat, utcnow
from modules.link_tracking.models import LinkClick
from modules.link_tracking.services import get_link

TOP_LINKS = 10


def _day_of_click():
    """The click's UTC date as 'YYYY-MM-DD' text on either database."""
    if on_postgresql():
        return func.to_char(func.timezone("UTC", LinkClick.clicked_at), "YYYY-MM-DD")
    return func.strftime("%Y-%m-%d", LinkClick.clicked_at)


def window_start(days: int, now: datetime) -> datetime:
    """Midnight UTC `days - 1` days ago: days=1 is today."""
    return datetime.combine(now.astimezone(UTC).date() - timedelta(days=days - 1), time(), tzinfo=UTC)


def click_analytics(days: int, tracking_id: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    since = window_start(days, now)
    until = since + timedelta(days=days)
    conditions = [LinkClick.clicked_at >= since, LinkClick.clicked_at < until]
    if tracking_id is not None:
        conditions.append(LinkClick.tracking_id == tracking_id)

    total, sessions, first, last = db.session.execute(
        select(func.count(), func.count(distinct(LinkClick.session_id)), func.min(LinkClick.clicked_at),
               func.max(LinkClick.clicked_at)).where(*conditions)).one()
    day = _day_of_click().label("day")
    per_day = dict(db.session.execute(select(day, func.count()).where(*conditions).group_by(day)).all())
    clicks = func.count().label("clicks")
    per_source = db.session.execute(select(LinkClick.click_source, clicks).where(*conditions)
                                    .group_by(LinkClick.click_source).order_by(clicks.desc(),
                                                                               LinkClick.click_source)).all()
    answer: dict[str, Any] = {
        "days": days,
        "since": isoformat(since),
        "until": isoformat(until),
        "total_clicks": total,
        "unique_sessions": sessions,
        "first_click": isoformat(first),
        "last_click": isoformat(last),
        "clicks_by_day": [{"date": date, "clicks": per_day.get(date, 0)} for date in _dates(since, days)],
        "clicks_by_source": [{"source": source, "clicks": count} for source, count in per_source],
    }
    if tracking_id is not None:
        answer["tracking_id"] = tracking_id
    else:
        top = db.session.execute(select(LinkClick.tracking_id, clicks).where(*conditions)
                                 .group_by(LinkClick.tracking_id).order_by(clicks.desc(), LinkClick.tracking_id)
                                 .limit(TOP_LINKS)).all()
        answer["top_links"] = [{"tracking_id": link, "clicks": count} for link, count in top]
    return answer


def link_analytics(tracking_id: str, days: int) -> dict[str, Any]:
    """`click_analytics` of one link; NotFound when there is no such link."""
    return click_analytics(days, get_link(tracking_id).tracking_id)


def _dates(since: datetime, days: int) -> list[str]:
    """Every day of the window, so that charts show the days without clicks too."""
    return [(since + timedelta(days=offset)).date().isoformat() for offset in range(days)]
