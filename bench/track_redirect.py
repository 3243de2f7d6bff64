"""Benchmark of GET /track/<tracking_id> (the redirect, and its click recorded) against its floor.

50 links are created through the operators' API (POST /api/link-tracking/links), the same 50 in the floor's
table. Per run, two phases of --seconds (default 12) each after a 1 s warm-up, hub and floor alternating:
8 clients (default) follow the links in turn, each request a new visitor (no session cookie) with a browser's
User-Agent, Referer and `?src=`. Every answer must be a 302. Prints redirects/s, p50/p99, CPU ms per redirect
by process group and the hub/floor ratios; then the medians of --runs runs (default 3). Target (issue 17):
>= 1,500/s, p99 <= 10 ms. About 30 s per run, plus 20 s to start.

    .venv/bin/python bench/track_redirect.py [--runs 3] [--seconds 12] [--clients 8]
"""

from __future__ import annotations

import itertools

import psycopg2
import requests
from harness import Bench, arguments, repeat
from loadgen import http_request

LINKS = [f"bench-redirect-{n:02d}" for n in range(50)]
DESTINATION = "https://www.example.com/jobs/listing?id={n}&ref=bench"
HEADERS = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0",
           "Accept": "text/html,application/xhtml+xml", "Referer": "https://www.linkedin.com/feed/"}


def create_links(bench: Bench) -> None:
    """The links, in the hub through its API, in the floor's table directly."""
    headers = bench.stack.operator_headers()
    for n, tracking_id in enumerate(LINKS):
        answer = requests.post(f"{bench.stack.web_url}/api/link-tracking/links", headers=headers, timeout=30,
                               json={"tracking_id": tracking_id, "original_url": DESTINATION.format(n=n)})
        answer.raise_for_status()
    with psycopg2.connect(bench.stack.database_url) as connection, connection.cursor() as cursor:
        cursor.executemany("INSERT INTO floor_links (tracking_id, original_url) VALUES (%s, %s)",
                           [(tracking_id, DESTINATION.format(n=n)) for n, tracking_id in enumerate(LINKS)])
    connection.close()


def follows(prefix: str):
    """For client n: the links in turn, starting at its own."""
    prepared = [http_request("GET", f"{prefix}{tracking_id}?src=bench", HEADERS) for tracking_id in LINKS]

    def for_client(n: int):
        return itertools.cycle(prepared[n:] + prepared[:n]).__next__

    return for_client


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--clients", type=int, default=8, help="clients following links (default 8)")
    args = parser.parse_args()
    # All visitors come from 127.0.0.1: the per-address click limit would stop recording their clicks.
    with Bench({"TRACK_CLICK_RATE_LIMIT": "100000000/minute"}, args) as bench:
        create_links(bench)
        bench.phase(bench.hub_port, follows("/track/"), 2, 1, expect=(302,))
        bench.phase(bench.floor_port, follows("/floor/track/"), 2, 1, expect=(302,))

        def one_run(n: int) -> dict[str, dict]:
            order = (("hub", "/track/", bench.hub_port), ("floor", "/floor/track/", bench.floor_port))
            return {f"redirects: {who}": bench.phase(port, follows(prefix), args.clients, args.seconds, expect=(302,))
                    for who, prefix, port in (order[::-1] if n % 2 else order)}

        repeat(args.runs, one_run, {"redirects": ("redirects: hub", "redirects: floor")}, unit="redirects")


if __name__ == "__main__":
    main()
