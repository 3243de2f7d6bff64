"""Click analytics, per link or overall, over a window of whole UTC days ending today.

Every figure counts the clicks of the same window, [since, until): from midnight UTC `days - 1` days ago
to the midnight that ends today. So the total is always the sum of the per-day series, and a click dated
later than today (a client clock up to a day ahead) or before the window counts in none of them.

Because the window is made of whole UTC days, every figure but one comes from the daily rollup
(`link_click_daily`: clicks per link, day and source, with the day's first and last click), so a query costs
O(days x sources) however many clicks there are. Unique sessions cannot be summed from days (one session
clicks on several days): they are counted from the raw clicks, through the index on (tracking_id,
clicked_at) that includes session_id, and only the window's partitions are read.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import distinct, func, select

from modules.core.extensions import db
from modules.core.types import isoformat, utcnow
from modules.link_tracking.models import LinkClick, LinkClickDaily
from modules.link_tracking.services import get_link

TOP_LINKS = 10


def window_start(days: int, now: datetime) -> datetime:
    """Midnight UTC `days - 1` days ago: days=1 is today."""
    return datetime.combine(now.astimezone(UTC).date() - timedelta(days=days - 1), time(), tzinfo=UTC)


def _unique_sessions(since: datetime, until: datetime, tracking_id: str | None) -> int:
    conditions = [LinkClick.clicked_at >= since, LinkClick.clicked_at < until]
    if tracking_id is not None:
        conditions.append(LinkClick.tracking_id == tracking_id)
    return db.session.scalar(select(func.count(distinct(LinkClick.session_id))).where(*conditions))


def click_analytics(days: int, tracking_id: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The figures of the `days` whole UTC days ending today (the API's answer), for one link or all."""
    now = now or utcnow()
    since = window_start(days, now)
    until = since + timedelta(days=days)
    daily = LinkClickDaily
    conditions = [daily.day >= since.date(), daily.day < until.date()]
    if tracking_id is not None:
        conditions.append(daily.tracking_id == tracking_id)

    clicks = func.sum(daily.clicks).label("clicks")
    total, first, last = db.session.execute(
        select(clicks, func.min(daily.first_clicked_at), func.max(daily.last_clicked_at)).where(*conditions)).one()
    per_day = {day.isoformat(): int(count) for day, count in
               db.session.execute(select(daily.day, clicks).where(*conditions).group_by(daily.day))}
    per_source = db.session.execute(select(daily.click_source, clicks).where(*conditions)
                                    .group_by(daily.click_source).order_by(clicks.desc(), daily.click_source)).all()
    answer: dict[str, Any] = {
        "days": days,
        "since": isoformat(since),
        "until": isoformat(until),
        "total_clicks": int(total or 0),
        "unique_sessions": _unique_sessions(since, until, tracking_id),
        "first_click": isoformat(first),
        "last_click": isoformat(last),
        "clicks_by_day": [{"date": date, "clicks": per_day.get(date, 0)} for date in _dates(since, days)],
        "clicks_by_source": [{"source": source, "clicks": int(count)} for source, count in per_source],
    }
    if tracking_id is not None:
        answer["tracking_id"] = tracking_id
    else:
        top = db.session.execute(select(daily.tracking_id, clicks).where(*conditions)
                                 .group_by(daily.tracking_id).order_by(clicks.desc(), daily.tracking_id)
                                 .limit(TOP_LINKS)).all()
        answer["top_links"] = [{"tracking_id": link, "clicks": int(count)} for link, count in top]
    return answer


def link_analytics(tracking_id: str, days: int) -> dict[str, Any]:
    """`click_analytics` of one link; NotFound when there is no such link."""
    return click_analytics(days, get_link(tracking_id).tracking_id)


def _dates(since: datetime, days: int) -> list[str]:
    """Every day of the window, so that charts show the days without clicks too."""
    return [(since + timedelta(days=offset)).date().isoformat() for offset in range(days)]
