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

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import case, distinct, func, select, tuple_

from modules.core.extensions import db
from modules.core.types import isoformat, utcnow
from modules.link_tracking.models import LinkClick, LinkClickDaily
from modules.link_tracking.services import get_link

TOP_LINKS = 10
TOP_REFERRERS = 10
EXPORT_CHUNK = 1000


def window_start(days: int, now: datetime) -> datetime:
    """Midnight UTC `days - 1` days ago: days=1 is today."""
    return datetime.combine(now.astimezone(UTC).date() - timedelta(days=days - 1), time(), tzinfo=UTC)


def window(days: int, now: datetime | None = None) -> tuple[datetime, datetime]:
    """[since, until) of the `days` whole UTC days ending today, as every figure here counts them."""
    since = window_start(days, now or utcnow())
    return since, since + timedelta(days=days)


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


def clicks_per_link(tracking_ids: Iterable[str], windows: tuple[int, ...] = (7, 30),
                    now: datetime | None = None) -> dict[str, dict[int, int]]:
    """{tracking_id: {days: clicks over that window}} for each of `windows` (whole UTC days ending today), from
    the daily rollup in one query: O(links x days x sources) rows. Links without clicks get zeros."""
    ids = list(tracking_ids)
    counts = {tracking_id: dict.fromkeys(windows, 0) for tracking_id in ids}
    if not ids or not windows:
        return counts
    now = now or utcnow()
    daily = LinkClickDaily
    starts = {days: window_start(days, now).date() for days in windows}
    until = window(1, now)[1].date()
    sums = [func.sum(case((daily.day >= start, daily.clicks), else_=0)) for start in starts.values()]
    rows = db.session.execute(select(daily.tracking_id, *sums).where(
        daily.tracking_id.in_(ids), daily.day >= min(starts.values()), daily.day < until).group_by(daily.tracking_id))
    for tracking_id, *figures in rows:
        counts[tracking_id] = {days: int(figure or 0) for days, figure in zip(windows, figures, strict=True)}
    return counts


def top_referrers(tracking_id: str, days: int, limit: int = TOP_REFERRERS,
                  now: datetime | None = None) -> list[dict[str, Any]]:
    """The link's most frequent referrers over the window, most clicks first: [{"referrer": url or None (no
    Referer sent), "clicks": n}]. Read from the link's raw clicks of the window (the rollup has no referrer)."""
    since, until = window(days, now)
    clicks = func.count().label("clicks")
    rows = db.session.execute(select(LinkClick.referrer_url, clicks).where(
        LinkClick.tracking_id == tracking_id, LinkClick.clicked_at >= since, LinkClick.clicked_at < until)
        .group_by(LinkClick.referrer_url).order_by(clicks.desc(), LinkClick.referrer_url).limit(limit))
    return [{"referrer": referrer, "clicks": int(count)} for referrer, count in rows]


def last_clicks(tracking_id: str, limit: int = 20) -> list[LinkClick]:
    """The link's latest clicks, newest first (through the index on (tracking_id, clicked_at))."""
    return list(db.session.scalars(select(LinkClick).where(LinkClick.tracking_id == tracking_id)
                                   .order_by(LinkClick.clicked_at.desc(), LinkClick.click_id.desc()).limit(limit)))


def clicks_between(since: datetime, until: datetime, tracking_id: str | None = None,
                   chunk: int | None = None) -> Iterator[Any]:
    """Every click of [since, until), of one link or all, oldest first, as rows of every `link_clicks` column
    (`row.metadata` is the click's metadata). Read `chunk` rows (default EXPORT_CHUNK) at a time by keyset on
    (clicked_at, click_id), as plain rows (not ORM objects kept by the session), so an export of millions of
    clicks keeps memory flat and holds no cursor open."""
    chunk = chunk or EXPORT_CHUNK
    table = LinkClick.__table__
    conditions = [table.c.clicked_at >= since, table.c.clicked_at < until]
    if tracking_id is not None:
        conditions.append(table.c.tracking_id == tracking_id)
    after: tuple[datetime, str] | None = None
    while True:
        query = select(table).where(*conditions)
        if after is not None:
            query = query.where(tuple_(table.c.clicked_at, table.c.click_id) > after)
        rows = db.session.execute(query.order_by(table.c.clicked_at, table.c.click_id).limit(chunk)).all()
        yield from rows
        if len(rows) < chunk:
            return
        after = (rows[-1].clicked_at, rows[-1].click_id)
