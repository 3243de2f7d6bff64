"""Benchmark of outbox deliveries per worker: how fast `flask worker` empties a backlog to a partner that answers
at once, with one worker, then with two.

Per run and worker count: --backlog SentraTech forms (default 5,000) are posted while no worker runs (12 clients),
so that each waits in the outbox as one pending message (as after a burst); then 1 (or 2) `flask worker`
processes start with a local dashboard (bench/peer.py, in its own process) answering 201 at once, and the
backlog is timed from its first delivery until /health's `outbox.pending` is 0 (polled every 0.2 s; at most
--limit seconds, default 180). The workers run at WORKER_NICENESS 0 here, the web server's priority: in
production `flask worker` runs at 19 and yields the CPU to the web server during a burst (bench/README.md).
Prints messages delivered per second, CPU ms per delivery by process group (workers, PostgreSQL, Redis, the
peer, web: /health's polls) and the ratio 2 workers / 1 worker; then the medians of --runs runs (default 3).
Target (issue 17): >= 500 deliveries/s with one worker; two >= 1.8x one. A run posts 10,000 forms and delivers
them: about 2 minutes at ~90 deliveries/s per worker on a quiet machine, 4 to 5 minutes on a busy one, about
1 minute at the target; `--backlog 2000` or `--runs 1` for a quick look.

    .venv/bin/python bench/deliveries.py [--runs 3] [--backlog 5000] [--limit 180]
"""

from __future__ import annotations

import os
import socket
import statistics
import threading
import time

import requests
from harness import Bench, arguments
from loadgen import exchange, http_request
from sentratech_ingest import FORM, HEADERS, dashboard_settings

WORKER_COUNTS = (1, 2)


def post_backlog(port: int, count: int, clients: int = 12) -> int:
    """`count` forms posted by `clients` kept-alive connections; returns how many were accepted."""
    request = http_request("POST", "/api/ingest/demo_requests", HEADERS, FORM)
    accepted = []

    def client(share: int) -> None:
        done = 0
        with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
            for _ in range(share):
                status, _closing = exchange(connection, request)
                done += status == 200
        accepted.append(done)

    threads = [threading.Thread(target=client, args=(count // clients + (n < count % clients),))
               for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(accepted)


def pending(session: requests.Session, url: str) -> int:
    """Pending outbox messages, as /health counts them."""
    return session.get(f"{url}/health", timeout=30).json()["outbox"]["pending"]


def drain(bench: Bench, workers: int, backlog: int, limit: float) -> dict:
    """Start `workers` workers on the waiting backlog and time it until none is pending."""
    session, url = requests.Session(), bench.stack.web_url
    bench.start_workers(workers)
    started = time.monotonic()
    while (left := pending(session, url)) >= backlog and time.monotonic() - started < 60:
        time.sleep(0.05)
    first, cpu_before, at_first = time.monotonic(), bench.cpu(), left
    while left and time.monotonic() - first < limit:
        time.sleep(0.2)
        left = pending(session, url)
    seconds, cpu_after = time.monotonic() - first, bench.cpu()
    bench.stop_workers()
    delivered = max(at_first - left, 1)
    return {"delivered": at_first - left, "left": left, "seconds": seconds, "rate": delivered / seconds,
            "start_seconds": first - started,
            "cpu_ms": {name: (cpu_after[name] - cpu_before[name]) * 1000 / delivered for name in cpu_after}}


def describe(workers: int, figures: dict) -> str:
    cpu = "  ".join(f"{name} {ms:.2f}" for name, ms in figures["cpu_ms"].items() if ms >= 0.005)
    left = f", {figures['left']:,} still pending at the limit" if figures["left"] else ""
    return (f"  {workers} worker(s): {figures['rate']:7,.0f} deliveries/s  ({figures['delivered']:,} in "
            f"{figures['seconds']:.1f} s after the first, which came {figures['start_seconds']:.1f} s after the "
            f"start{left})\n  {'':12}CPU ms/delivery: {cpu}")


def main() -> None:
    parser = arguments(__doc__, seconds=None)
    parser.add_argument("--backlog", type=int, default=5000, help="forms waiting when the workers start (default "
                        "5,000)")
    parser.add_argument("--limit", type=float, default=180, help="seconds a backlog may take (default 180)")
    args = parser.parse_args()
    settings = {"INGEST_RATE_LIMIT": "100000000/minute", "WORKER_NICENESS": "0"}
    results = []
    with Bench(settings, args, peer="dashboard", peer_settings=dashboard_settings, with_floor=False) as bench:
        print(f"backlog {args.backlog:,} SentraTech forms; flask worker at WORKER_NICENESS 0 (production: 19), "
              "the dashboard answering 201 at once", flush=True)
        for n in range(args.runs):
            load_before, run = os.getloadavg()[0], {}
            for workers in WORKER_COUNTS:
                accepted = post_backlog(bench.hub_port, args.backlog)
                run[workers] = drain(bench, workers, accepted, args.limit)
            run["ratio"] = run[2]["rate"] / run[1]["rate"]
            print(f"run {n + 1}/{args.runs}: load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
            for workers in WORKER_COUNTS:
                print(describe(workers, run[workers]))
            print(f"  ratio 2 workers / 1 worker: {run['ratio']:.2f}", flush=True)
            results.append(run)
    print(f"\nmedians of {len(results)} run(s):")
    for workers in WORKER_COUNTS:
        rows = [run[workers] for run in results]
        cpu = {name: statistics.median(r["cpu_ms"][name] for r in rows) for name in rows[0]["cpu_ms"]}
        print(f"  {workers} worker(s): {statistics.median(r['rate'] for r in rows):7,.0f} deliveries/s  CPU "
              "ms/delivery: " + "  ".join(f"{name} {ms:.2f}" for name, ms in cpu.items() if ms >= 0.005))
    print(f"  ratio 2 workers / 1 worker: {statistics.median(run['ratio'] for run in results):.2f}")


if __name__ == "__main__":
    main()
