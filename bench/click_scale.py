"""Benchmark of link tracking at data size: 10^7 clicks for 1,000 links on PostgreSQL.

Starts the hub as the other benchmarks do (faults/stack.py), measures batch ingest on the empty
database, then loads the clicks with COPY (spread over the last 120 days, so over five monthly
partitions) and their daily rollup, and measures again:

- one link's analytics over 90 days (`GET /api/link-tracking/links/<id>/analytics?days=90`), over HTTP
  with an operator's token: p50 and p99 of requests for random links (target: under 50 ms);
- the overall analytics over 90 days (every link; no target, shown for what it costs);
- 1,000-event batch ingest, as a ratio to the same phase on the empty database (it should hold);
- the database size per million clicks (clicks, their rollup, the event-id dedupe table).

    .venv/bin/python bench/click_scale.py [--clicks 10000000] [--links 1000] [--requests 200]
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
import requests  # noqa: E402
from harness import Bench  # noqa: E402
from link_tracking_ingest import HUB_PATH, SOURCES, USER_AGENT, batches  # noqa: E402

from modules.link_tracking import partitions  # noqa: E402

DAYS_LOADED = 120
REFERRERS = ("https://www.linkedin.com/feed/", "https://mail.example.com/", "https://www.example.com/jobs?id=12345",
             "")
COPY_COLUMNS = "click_id, tracking_id, clicked_at, received_at, ip_address, user_agent, referrer_url, session_id, " \
               "click_source"


class ClickRows(io.RawIOBase):
    """CSV rows for COPY, made as PostgreSQL reads them (never the whole load in memory)."""

    def __init__(self, clicks: int, links: int, today: date, seed: int = 16):
        self.rows = self._rows(clicks, links, today, random.Random(seed))
        self.pending = b""

    @staticmethod
    def _rows(clicks: int, links: int, today: date, rng: random.Random):
        days = [(today - timedelta(days=offset)).isoformat() for offset in range(DAYS_LOADED)]
        agent = '"' + USER_AGENT.replace('"', '""') + '"'  # CSV: the user agent holds commas
        for start in range(0, clicks, 10_000):
            lines = []
            for n in range(start, min(start + 10_000, clicks)):
                day = days[int(rng.random() * DAYS_LOADED)]
                second = int(rng.random() * 86_400)
                stamp = f"{day} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00"
                lines.append(f"00000000-0000-4000-8000-{n:012x},bench-link-{int(rng.random() * links)},{stamp},"
                             f"{stamp},203.0.113.{n % 250},{agent},{REFERRERS[n % 4]},s{n // 3},"
                             f"{SOURCES[n % len(SOURCES)]}\n")
            yield "".join(lines).encode()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self.pending) < len(buffer):
            chunk = next(self.rows, b"")
            if not chunk:
                break
            self.pending += chunk
        size = min(len(buffer), len(self.pending))
        buffer[:size], self.pending = self.pending[:size], self.pending[size:]
        return size


def load(database_url: str, clicks: int, links: int) -> float:
    """The links, the months' partitions, the clicks (COPY) and their rollup; seconds taken."""
    started = time.perf_counter()
    today = datetime.now(UTC).date()
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("INSERT INTO link_tracking (tracking_id, is_active, auto_registered, created_at, updated_at) "
                       "SELECT 'bench-link-' || n, true, true, now(), now() FROM generate_series(0, %s) AS n "
                       "ON CONFLICT DO NOTHING", (links - 1,))
        first = today - timedelta(days=DAYS_LOADED)
        month, last = (first.year, first.month), (today.year, today.month)
        while month <= last:  # the hub's own partitions: the ingest would make them the same way
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {partitions.partition_name(month)} PARTITION OF link_clicks "
                           f"FOR VALUES FROM ('{partitions.month_start(month)}') "
                           f"TO ('{partitions.month_start(partitions.next_month(month))}')")
            month = partitions.next_month(month)
        connection.commit()
        cursor.copy_expert(f"COPY link_clicks ({COPY_COLUMNS}) FROM STDIN WITH (FORMAT csv)",
                           io.BufferedReader(ClickRows(clicks, links, today), 1 << 20))
        copied = time.perf_counter()
        print(f"COPY of {clicks:,} clicks: {copied - started:.0f} s")
        cursor.execute("INSERT INTO link_click_daily (tracking_id, day, click_source, clicks, first_clicked_at, "
                       "last_clicked_at) SELECT tracking_id, (clicked_at AT TIME ZONE 'UTC')::date, click_source, "
                       "count(*), min(clicked_at), max(clicked_at) FROM link_clicks GROUP BY 1, 2, 3 "
                       "ON CONFLICT (tracking_id, day, click_source) DO UPDATE SET "
                       "clicks = link_click_daily.clicks + excluded.clicks")
        connection.commit()
        print(f"rollup built: {time.perf_counter() - copied:.0f} s")
    connection = psycopg2.connect(database_url)
    connection.autocommit = True  # VACUUM runs outside a transaction
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE link_clicks")  # the visibility map makes the sessions' scan index-only
        cursor.execute("VACUUM ANALYZE link_click_daily")
    connection.close()
    return time.perf_counter() - started


def analytics_latency(base_url: str, headers: dict[str, str], path_for, requests_made: int) -> dict[str, float]:
    session = requests.Session()
    session.headers.update(headers)
    timings = []
    for n in range(requests_made):
        started = time.perf_counter()
        answer = session.get(base_url + path_for(n), timeout=60)
        timings.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
    timings.sort()
    return {"p50": statistics.median(timings), "p99": timings[max(int(len(timings) * 0.99) - 1, 0)],
            "total": answer.json()["total_clicks"]}


def sizes(database_url: str) -> str:
    """Bytes on disk per million clicks, indexes and TOAST included: the clicks (every partition) and the
    rollup per million stored clicks, the event-id table per million event ids (loaded clicks have none)."""
    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
                       "WHERE inhparent = 'link_clicks'::regclass")
        [clicks] = cursor.fetchone()
        cursor.execute("SELECT pg_total_relation_size('link_click_daily'), pg_total_relation_size('link_click_events'),"
                       " (SELECT count(*) FROM link_clicks), (SELECT count(*) FROM link_click_events)")
        rollup, events, stored, event_ids = map(int, cursor.fetchone())
        clicks = int(clicks)  # a sum() arrives as a Decimal
    per_million = 1e6 / 2**20
    return (f"{stored:,} clicks stored: clicks {clicks / stored * per_million:.0f} MiB and rollup "
            f"{rollup / stored * per_million:.0f} MiB per million clicks; event ids "
            f"{events / max(event_ids, 1) * per_million:.0f} MiB per million ({event_ids:,} of them)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=10_000_000)
    parser.add_argument("--links", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200, help="analytics requests for random links")
    parser.add_argument("--seconds", type=float, default=15, help="length of each ingest phase")
    args = parser.parse_args()

    server = argparse.Namespace(web_workers=3, worker_class="gevent")
    with Bench({"TRACKING_RATE_LIMIT": "100000000/minute"}, server, with_floor=False) as bench:
        stack = bench.stack

        def ingest() -> dict:
            figures = bench.phase(bench.hub_port, batches(HUB_PATH, 1000), 4, args.seconds, units=1000)
            return {"events_per_s": figures["units"], "p99_ms": figures["p99_ms"],
                    "cpu_us_per_event": figures["server_ms"]}  # ms per 1,000-event batch = us per event

        bench.phase(bench.hub_port, batches(HUB_PATH, 1000), 1, 2)  # warm-up
        empty = ingest()
        print(f"ingest, empty database: {empty['events_per_s']:,.0f} events/s, p99 {empty['p99_ms']:.0f} ms, "
              f"{empty['cpu_us_per_event']:.0f} us CPU/event")
        print(f"loaded in {load(stack.database_url, args.clicks, args.links):.0f} s")
        headers = stack.operator_headers()
        rng = random.Random(7)
        one = analytics_latency(stack.web_url, headers, lambda _n: f"/api/link-tracking/links/bench-link-"
                                f"{rng.randrange(args.links)}/analytics?days=90", args.requests)
        print(f"one link, 90 days: p50 {one['p50']:.1f} ms, p99 {one['p99']:.1f} ms "
              f"({args.requests} requests, the last link had {one['total']:,} clicks)")
        overall = analytics_latency(stack.web_url, headers, lambda _n: "/api/link-tracking/analytics?days=90", 5)
        print(f"every link, 90 days: p50 {overall['p50']:.0f} ms ({overall['total']:,} clicks in the window)")
        loaded = ingest()
        print(f"ingest, {args.clicks:,} clicks stored: {loaded['events_per_s']:,.0f} events/s, p99 "
              f"{loaded['p99_ms']:.0f} ms, {loaded['cpu_us_per_event']:.0f} us CPU/event; ratio to the empty "
              f"database: {loaded['events_per_s'] / empty['events_per_s']:.2f} (CPU/event "
              f"{loaded['cpu_us_per_event'] / empty['cpu_us_per_event']:.2f})")
        print(f"database size: {sizes(stack.database_url)}")


if __name__ == "__main__":
    main()
