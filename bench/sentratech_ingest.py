"""Benchmark of SentraTech's form ingest (POST /api/ingest/demo_requests) against its floor, while the dashboard
is healthy, failing and hanging.

The dashboard (bench/peer.py, faults/peers.py's DashboardPeer) runs in its own process; one `flask worker` syncs
to it throughout, at its production priority (WORKER_NICENESS 19), so a failing or hanging dashboard costs the
worker retries and time-outs, never the ingest's answer. Per run, four phases of --seconds (default 12) each
after a 1 s warm-up: the floor (one INSERT per form), then the hub with the dashboard answering at once, answering
503 to everything (`fail`), and holding every request for 30 s (`hang`); the floor goes last in every other run.
12 clients (default), one form per request on kept-alive connections. Prints forms/s, p50/p99, CPU ms per form
by process group and each hub phase's ratio to the floor; then the medians of --runs runs (default 3). Target
(issue 17): >= 800 forms/s, p99 <= 30 ms, the same while the dashboard fails or hangs. About 1 minute per run,
plus 20 s to start. bench/fastcore_ingest.py does the same for FASTCore's leads.

    .venv/bin/python bench/sentratech_ingest.py [--runs 3] [--seconds 12] [--clients 12]
"""

from __future__ import annotations

import json

from harness import KEYS, Bench, arguments, ingest_under_peer_modes
from loadgen import http_request

FORM = json.dumps({"user_name": "Bench Example", "email": "bench@example.com", "company": "Example Ltd",
                   "message": "A benchmark demo request.", "phone": "+1 555 0100", "call_volume": 100}).encode()
HEADERS = {"Content-Type": "application/json", "X-INGEST-KEY": KEYS["INGEST_KEY"]}


def posts(path: str):
    """For client n: the same form, prepared once."""
    prepared = http_request("POST", path, HEADERS, FORM)
    return lambda _n: lambda: prepared


def dashboard_settings(port: int) -> dict[str, str]:
    return {"DASHBOARD_BASE_URL": f"http://127.0.0.1:{port}", "SVC_EMAIL": "svc@bench.invalid",
            "SVC_PASSWORD": "bench-dashboard-password"}


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--clients", type=int, default=12, help="clients posting forms (default 12)")
    args = parser.parse_args()
    # Every client comes from 127.0.0.1: the per-visitor limit still counts, far above what they send.
    with Bench({"INGEST_RATE_LIMIT": "100000000/minute"}, args, peer="dashboard",
               peer_settings=dashboard_settings) as bench:
        ingest_under_peer_modes(bench, "forms", posts("/api/ingest/demo_requests"), posts("/floor/form"), args,
                                expect=(200, 201))


if __name__ == "__main__":
    main()
