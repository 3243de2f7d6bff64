"""Benchmark of POST /api/tracking-ingest/batch against its floor, served the production way.

Per run, four phases of --seconds (default 12) each after a 1 s warm-up, hub and floor alternating (the order
flips every run): 1,000-event batches from 4 clients, then 1-event batches from 8 clients. Every batch has
its own event ids (50 tracking ids, browser user agents, a referrer, metadata), so each is stored. Prints per
phase events/s, p50/p99 per batch, CPU ms per batch by process group, and the hub/floor ratios; then the
medians of --runs runs (default 3). Targets (issue 17): 1,000-event batches >= 50,000 events/s, p99 <= 150 ms;
1-event batches >= 1,300/s, p99 <= 15 ms. About 1 minute per run, plus 20 s to start.

    .venv/bin/python bench/link_tracking_ingest.py [--runs 3] [--seconds 12] [--clients 4] [--single-clients 8]
"""

from __future__ import annotations

import json
import uuid

from harness import KEYS, Bench, arguments, repeat
from loadgen import http_request

SOURCES = ("linkedin", "calendly", "indeed", "email", "portfolio")
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
TOKEN = "BATCHTOKEN00"  # replaced in each request, so that every batch has its own event ids
HUB_PATH, FLOOR_PATH = "/api/tracking-ingest/batch", "/floor/batch"


def batch_body(events: int) -> bytes:
    """A realistic batch of `events` events whose event ids start with TOKEN."""
    return json.dumps({"events": [{
        "event_id": f"{TOKEN}-{n}",
        "tracking_id": f"bench-link-{n % 50}",
        "clicked_at": "2026-11-20T14:30:00Z",
        "ip_address": f"203.0.113.{n % 250}",
        "user_agent": USER_AGENT,
        "referrer_url": "https://www.example.com/jobs/listing?id=12345",
        "click_source": SOURCES[n % len(SOURCES)],
        "session_id": f"{TOKEN}-{n % 100}",
        "metadata": {"campaign": "fall-2026", "position": n},
    } for n in range(events)]}).encode()


def batches(path: str, events: int):
    """For client n: a function giving the next request, a batch with fresh event ids."""
    template = http_request("POST", path, {"Content-Type": "application/json", "X-API-Key": KEYS["TRACKING_API_KEYS"]},
                            batch_body(events))
    token = TOKEN.encode()

    def for_client(_n: int):
        return lambda: template.replace(token, uuid.uuid4().hex[:len(TOKEN)].encode())

    return for_client


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--clients", type=int, default=4, help="clients posting 1,000-event batches (default 4)")
    parser.add_argument("--single-clients", type=int, default=8, help="clients posting 1-event batches (default 8)")
    args = parser.parse_args()
    # One key posts everything: a real tracker stays far below the per-key limit, which still counts here.
    with Bench({"TRACKING_RATE_LIMIT": "100000000/minute"}, args) as bench:
        # Warm-up: connections opened, the 50 tracking ids registered, the month's partition created.
        bench.phase(bench.hub_port, batches(HUB_PATH, 1000), 1, 2)
        bench.phase(bench.floor_port, batches(FLOOR_PATH, 1000), 1, 2)

        def one_run(n: int) -> dict[str, dict]:
            phases = {}
            for size, clients in ((1000, args.clients), (1, args.single_clients)):
                order = (("hub", HUB_PATH, bench.hub_port), ("floor", FLOOR_PATH, bench.floor_port))
                for who, path, port in order[::-1] if n % 2 else order:
                    phases[f"{size:,}-event batches: {who}"] = bench.phase(port, batches(path, size), clients,
                                                                           args.seconds, units=size)
            return phases

        pairs = {f"{size:,}-event batches": (f"{size:,}-event batches: hub", f"{size:,}-event batches: floor")
                 for size in (1000, 1)}
        repeat(args.runs, one_run, pairs, unit="events")


if __name__ == "__main__":
    main()
