"""Benchmark of single-form ingest (POST /api/ingest/demo_requests), served the production way.

Starts the hub as the fault suite does (faults/stack.py: a throw-away PostgreSQL and Redis, migrations,
gunicorn on a free loopback port), runs the hub's worker (`flask worker`) and a local dashboard peer, then
posts one form per request from concurrent clients and prints forms/s and p50/p99 latency, once per dashboard mode:
  healthy   the peer answers 201 to every record
  error     the peer answers 500 to every record (the worker retries with backoff)
  hang      the peer holds every request for 30 s (the worker times out and retries)
Target: p99 in the error and hang runs within 20% of the healthy run, and at least 500 forms/s.
The worker runs below the web server's CPU priority (WORKER_NICENESS), as `flask worker` does: during
the load it delivers little, so after the healthy run the script also times how long the worker takes
to deliver the backlog (at most 3 minutes). Bounded in time; everything it started is stopped and removed.

    .venv/bin/python bench/sentratech_ingest.py [--seconds 15] [--clients 12] [--web-workers 3] [--hub-workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["HUB_ENV_FILE"] = ""  # the benchmark reads the database through the app: never a developer's .env

INGEST_KEY = "bench-ingest-key"
MODES = ("healthy", "error", "hang")
FORM = json.dumps({"user_name": "Bench Example", "email": "bench@example.com", "company": "Example Ltd",
                   "message": "A benchmark demo request.", "phone": "+1 555 0100", "call_volume": 100})
REQUEST = (f"POST /api/ingest/demo_requests HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           f"X-INGEST-KEY: {INGEST_KEY}\r\nContent-Length: {len(FORM)}\r\nConnection: close\r\n\r\n{FORM}").encode()


# The dashboard peer, run as a child process so that it does not share the load generator's GIL -----

def serve_dashboard(mode: str, port: int) -> None:
    class Dashboard(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # as real servers do: kept-alive answers are not held for 40 ms

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/api/auth/login":
                return self.answer(200, {"access_token": "bench-dashboard-token", "expires_in": 3600})
            if mode == "hang":
                time.sleep(30)
            return self.answer(500 if mode == "error" else 201, {})

        def answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Dashboard).serve_forever()


# Load ---------------------------------------------------------------------------------------------

def client_loop(port: int, deadline: float, warmup_until: float, latencies: list[float], errors: list[int]) -> None:
    while time.monotonic() < deadline:
        started = time.perf_counter()
        status = post_form(port)
        elapsed = time.perf_counter() - started
        if time.monotonic() >= warmup_until:
            (latencies.append(elapsed) if status == 200 else errors.append(status))


def post_form(port: int) -> int:
    """One POST on a fresh connection (as a browser's form post from many visitors would arrive), written
    as bytes prepared once: http.client's header building and parsing cost the load generator, which
    shares the two cores with the hub, about 0.3 ms per request. Returns the status, 0 on a failure."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(REQUEST)
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        return int(answer[9:12])  # b"HTTP/1.1 200 OK..."
    except (OSError, ValueError):
        return 0


def cpu_seconds(pids: list[int]) -> float:
    """CPU time used so far by processes and their children (gunicorn's workers, PostgreSQL's backends)."""
    tree = []
    for pid in pids:
        try:
            parent = psutil.Process(pid)
            tree += [parent, *parent.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
    total = 0.0
    for member in tree:
        try:
            times = member.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def cpu_by_part(pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each part of the stack, and of this process (the load generator)."""
    return {**{part: cpu_seconds(pid) for part, pid in pids.items()}, "load generator": time.process_time()}


def drive(port: int, seconds: float, clients: int, pids: dict[str, list[int]], warmup: float = 2.0) -> dict:
    latencies: list[float] = []
    errors: list[int] = []
    start = time.monotonic()
    deadline = start + warmup + seconds
    threads = [threading.Thread(target=client_loop, args=(port, deadline, start + warmup, latencies, errors))
               for _ in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(warmup)
    cpu_before, load_before = cpu_by_part(pids), os.getloadavg()[0]
    for thread in threads:
        thread.join()
    cpu_after = cpu_by_part(pids)
    ordered = sorted(latencies)
    forms = max(len(ordered), 1)
    return {"forms": len(ordered), "errors": len(errors), "rate": len(ordered) / seconds,
            "cpu_ms": {part: (cpu_after[part] - cpu_before[part]) * 1000 / forms for part in cpu_after},
            "load": max(load_before, os.getloadavg()[0]),
            "p50_ms": statistics.median(ordered) * 1000 if ordered else 0.0,
            "p99_ms": ordered[int(len(ordered) * 0.99) - 1] * 1000 if ordered else 0.0}


# Processes ----------------------------------------------------------------------------------------

def start_dashboard(mode: str, port: int) -> subprocess.Popen:
    """The dashboard peer: this script with --dashboard-peer, in its own process and session."""
    return subprocess.Popen([sys.executable, __file__, "--dashboard-peer", mode, "--port", str(port)], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def sync_summary(app) -> dict:
    from sqlalchemy import func, select

    from modules.core.extensions import db
    from modules.sentratech.models import DemoRequest

    with app.app_context():
        rows = db.session.execute(select(DemoRequest.sync_status, func.count()).group_by(DemoRequest.sync_status))
        summary = dict(rows.all())
        db.session.remove()
    return summary


def catch_up(app, limit_seconds: float = 180) -> tuple[int, float]:
    """Wait until the worker has delivered every record; returns (records delivered meanwhile, seconds)."""
    from modules.sentratech.models import PENDING

    started, pending_at_start = time.monotonic(), sync_summary(app).get(PENDING, 0)
    while sync_summary(app).get(PENDING, 0) and time.monotonic() - started < limit_seconds:
        time.sleep(0.5)
    return pending_at_start - sync_summary(app).get(PENDING, 0), time.monotonic() - started


def reset(app) -> None:
    from sqlalchemy import text

    from modules.core.extensions import db
    from modules.core.redis_client import get_redis

    with app.app_context():
        db.session.execute(text("TRUNCATE sentratech_demo_request, outbox, outbox_attempt, audit_log"))
        db.session.commit()
        db.session.remove()
        get_redis(app).flushdb()


def run(seconds: float, clients: int, web_workers: int, hub_workers: int, worker_class: str) -> None:
    from app_modular import create_app
    from faults.stack import Stack
    from tests.support.servers import free_port

    dashboard_port = free_port()
    settings = {"SECRET_KEY": "bench-secret-key", "INGEST_KEY": INGEST_KEY, "INGEST_RATE_LIMIT": "1000000/minute",
                "DASHBOARD_BASE_URL": f"http://127.0.0.1:{dashboard_port}", "SVC_EMAIL": "svc@example.com",
                "SVC_PASSWORD": "bench-dashboard-password"}
    workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    stack = Stack(workdir, settings, workers=0, scheduler=False,
                  web_args=["--workers", str(web_workers), "--worker-class", worker_class])
    dashboard = None
    results = {}
    try:
        stack.start()
        app = create_app({**settings, "DATABASE_URL": stack.database_url, "REDIS_URL": stack.redis.url})
        web_port = int(stack.web_url.rsplit(":", 1)[1])
        print(f"gunicorn: {web_workers} {worker_class} workers; {clients} clients; {seconds:.0f} s per run after a 2 s "
              "warm-up; "
              f"{hub_workers} hub worker(s) delivering to the dashboard throughout")
        workers = [f"worker-{n}" for n in range(1, hub_workers + 1)]
        for mode in MODES:
            reset(app)
            dashboard = start_dashboard(mode, dashboard_port)
            pids = {"web": [stack.processes["web"].pid], "worker": [stack.spawn(name).pid for name in workers],
                    "PostgreSQL": [stack.postgres.pid()], "Redis": [stack.redis.process.pid],
                    "dashboard": [dashboard.pid]}
            time.sleep(1.5)
            results[mode] = drive(web_port, seconds, clients, pids)
            results[mode]["sync"] = sync_summary(app)
            if mode == "healthy":
                results[mode]["catch_up"] = catch_up(app)
            for name in workers:
                stack.end(name)
            stop(dashboard)
            dashboard = None
    finally:
        stop(dashboard)
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report(results)


def report(results: dict) -> None:
    healthy_p99 = results["healthy"]["p99_ms"]
    print(f"{'dashboard':10} {'forms/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99 vs healthy':>15} {'errors':>7} "
          f"{'load avg':>9}  records by sync state at the end")
    for mode, figures in results.items():
        ratio = figures["p99_ms"] / healthy_p99 - 1 if healthy_p99 else 0.0
        print(f"{mode:10} {figures['rate']:8.0f} {figures['p50_ms']:8.1f} {figures['p99_ms']:8.1f} {ratio:+14.0%} "
              f"{figures['errors']:7d} {figures['load']:9.1f}  {figures['sync']}")
    delivered, seconds = results["healthy"]["catch_up"]
    print(f"\nAfter the healthy run, the hub worker(s) delivered the {delivered} records left in {seconds:.1f} s "
          f"({delivered / max(seconds, 0.001):.0f} records/s, machine otherwise idle).")
    print("\nCPU ms per accepted form, by part of the stack:")
    parts = list(next(iter(results.values()))["cpu_ms"])
    print(f"{'dashboard':10} " + " ".join(f"{part:>15}" for part in parts) + f" {'all':>8}")
    for mode, figures in results.items():
        cpu = figures["cpu_ms"]
        print(f"{mode:10} " + " ".join(f"{cpu[part]:15.2f}" for part in parts) + f" {sum(cpu.values()):8.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per dashboard mode (default 15)")
    parser.add_argument("--clients", type=int, default=12, help="concurrent clients (default 12)")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--worker-class", default="gevent", help="gunicorn worker class (default gevent, as "
                        "gunicorn.conf.py; `sync` to compare)")
    parser.add_argument("--hub-workers", type=int, default=1, help="`flask worker` processes (default 1)")
    parser.add_argument("--dashboard-peer", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.dashboard_peer:
        serve_dashboard(arguments.dashboard_peer, arguments.port)
    else:
        run(arguments.seconds, arguments.clients, arguments.web_workers, arguments.hub_workers,
            arguments.worker_class)
