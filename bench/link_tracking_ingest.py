"""Benchmark of POST /api/tracking-ingest/batch, served the production way.

Starts the hub as the fault suite does (faults/stack.py: a throw-away PostgreSQL and Redis, migrations,
gunicorn on a free loopback port), then posts 1,000-event batches from concurrent clients, then 1-event
batches, and prints events/s and p50/p99 batch latency for each. Bounded in time; everything it started
is stopped and removed.

    .venv/bin/python bench/link_tracking_ingest.py [--workers 3] [--seconds 20] [--clients 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
import psycopg2  # noqa: E402

from faults.stack import Stack  # noqa: E402
from modules.link_tracking.models import LinkClick  # noqa: E402

API_KEY = "bench-tracking-key"
SOURCES = ("linkedin", "calendly", "indeed", "email", "portfolio")
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


BATCH_TOKEN = "BATCHTOKEN00"  # replaced in each request so that every batch has its own event ids


def batch_template(events: int) -> bytes:
    """A realistic batch: 50 tracking ids, browser user agents, a referrer, metadata, unique event ids."""
    return json.dumps({"events": [{
        "event_id": f"{BATCH_TOKEN}-{n}",
        "tracking_id": f"bench-link-{n % 50}",
        "clicked_at": "2026-11-20T14:30:00Z",
        "ip_address": f"203.0.113.{n % 250}",
        "user_agent": USER_AGENT,
        "referrer_url": "https://www.example.com/jobs/listing?id=12345",
        "click_source": SOURCES[n % len(SOURCES)],
        "session_id": f"{BATCH_TOKEN}-{n % 100}",
        "metadata": {"campaign": "fall-2026", "position": n},
    } for n in range(events)]}).encode()


def post_batches(port: int, template: bytes, deadline: float, latencies: list[float],
                 failures: list[int]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json", "X-API-Key": API_KEY}
    while time.monotonic() < deadline:
        body = template.replace(BATCH_TOKEN.encode(), f"{uuid.uuid4().hex[:len(BATCH_TOKEN)]}".encode())
        started = time.perf_counter()
        connection.request("POST", "/api/tracking-ingest/batch", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.status != 200:
            failures.append(response.status)
    connection.close()


def server_cpu_seconds(roots: list[psutil.Process]) -> float:
    """CPU time used so far by gunicorn and PostgreSQL, every child process included (ended ones too)."""
    total = 0.0
    for root in roots:
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system + times.children_user + times.children_system
    return total


def run_phase(port: int, events_per_batch: int, clients: int, seconds: float, servers: list[psutil.Process]) -> dict:
    template = batch_template(events_per_batch)
    latencies: list[float] = []
    failures: list[int] = []
    deadline = time.monotonic() + seconds
    cpu_before = [server_cpu_seconds([server]) for server in servers]
    started = time.perf_counter()
    threads = [threading.Thread(target=post_batches, args=(port, template, deadline, latencies, failures))
               for c in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    events = len(latencies) * events_per_batch
    cpu_used = [server_cpu_seconds([server]) - before for server, before in zip(servers, cpu_before, strict=True)]
    cpu_per_event = sum(cpu_used) / max(events, 1)
    ordered = sorted(latencies)
    return {"batches": len(latencies), "events": events, "seconds": elapsed, "cpu_us_per_event": cpu_per_event * 1e6,
            "web_us": cpu_used[0] / max(events, 1) * 1e6, "db_us": cpu_used[1] / max(events, 1) * 1e6,
            "capacity": (os.cpu_count() or 1) / cpu_per_event if cpu_per_event else 0.0,
            "events_per_s": len(latencies) * events_per_batch / elapsed, "failures": len(failures),
            "p50_ms": statistics.median(ordered) * 1000, "p99_ms": ordered[max(int(len(ordered) * 0.99) - 1, 0)] * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--worker-class", default="gevent", help="gunicorn worker class (default gevent, as "
                        "gunicorn.conf.py; `sync` to compare)")
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients posting 1,000-event batches")
    parser.add_argument("--single-clients", type=int, default=8, help="concurrent clients posting 1-event batches")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    # One key posts everything here; a real tracker stays far below the per-key limit.
    stack = Stack(workdir, {"TRACKING_API_KEYS": API_KEY, "TRACKING_RATE_LIMIT": "1000000/minute"}, workers=0,
                  scheduler=False, web_args=["--workers", str(args.workers), "--worker-class", args.worker_class])
    try:
        stack.start()
        port = int(stack.web_url.rsplit(":", 1)[1])
        print(f"gunicorn: {args.workers} {args.worker_class} workers; PostgreSQL and Redis on this machine "
              f"({os.cpu_count()} CPUs)")
        servers = [psutil.Process(stack.processes["web"].pid), psutil.Process(stack.postgres.pid())]
        load_before = os.getloadavg()[0]
        warm_up = run_phase(port, 1000, 1, 2, servers)  # connections opened, tracking ids registered
        phases = [("1,000-event batches", run_phase(port, 1000, args.clients, args.seconds, servers)),
                  ("1-event batches", run_phase(port, 1, args.single_clients, args.seconds, servers))]
        for name, figures in phases:
            print(f"{name:20} {figures['events_per_s']:>9,.0f} events/s  p50 {figures['p50_ms']:7.1f} ms  "
                  f"p99 {figures['p99_ms']:7.1f} ms  ({figures['batches']:,} batches in {figures['seconds']:.1f} s, "
                  f"{figures['failures']} not 200)")
            print(f"{'':20} server CPU {figures['cpu_us_per_event']:,.0f} us/event (gunicorn {figures['web_us']:,.0f}, "
                  f"PostgreSQL {figures['db_us']:,.0f}): {figures['capacity']:,.0f} events/s if they had all "
                  f"{os.cpu_count()} CPUs to themselves")
        print(f"load average before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
              "(other work on the machine lowers the events/s, not the CPU cost per event)")
        with psycopg2.connect(stack.database_url) as connection, connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {LinkClick.__tablename__}")
            [stored] = cursor.fetchone()
        sent = warm_up["events"] + sum(figures["events"] for _, figures in phases)
        print(f"rows in link_clicks: {stored:,} (events posted: {sent:,})")
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

if __name__ == "__main__":
    main()
