"""Benchmark of FASTCore's lead ingest (POST /inbound/leads) against its floor, while the mail server is
healthy, failing and hanging.

Each lead queues two e-mails (a welcome to the lead, who consented, and an alert to ADMIN_EMAIL) that one
`flask worker` sends throughout, at its production priority, to a local SMTP server (bench/peer.py,
tests/support/smtp.py) in its own process. Per run, four phases of --seconds (default 12) each after a 1 s
warm-up: the floor (one INSERT per lead), then the hub with the SMTP server accepting at once, answering 451 to
every message (`fail`) and holding every message for 30 s (`hang`); the floor goes last in every other run.
12 clients (default), one lead per request, each with its own meta.request_id, on kept-alive connections.
Prints leads/s, p50/p99, CPU ms per lead by process group and each hub phase's ratio to the floor; then the
medians of --runs runs (default 3). Target (issue 17): >= 800 leads/s, p99 <= 30 ms, the same while the mail
server fails or hangs. About 1 minute per run, plus 20 s to start.

    .venv/bin/python bench/fastcore_ingest.py [--runs 3] [--seconds 12] [--clients 12]
"""

from __future__ import annotations

import json
import uuid

from harness import KEYS, Bench, arguments, ingest_under_peer_modes
from loadgen import http_request

REQUEST_ID = "00000000-0000-4000-8000-000000000000"  # replaced in each request: every lead is new
LEAD = json.dumps({"name": "Bench Example", "email": "bench.lead@example.com", "phone": "+33 6 00 00 00 00",
                   "company": "Garage Bench", "service": "compresseurs", "message": "Need a quote for two compressors.",
                   "consent": True, "meta": {"source": "contact-page", "request_id": REQUEST_ID,
                                             "ip_hash": "iphash-0001", "timestamp_utc": "2026-11-22T08:00:00Z",
                                             "user_agent_hash": "uahash-0001"}}).encode()
HEADERS = {"Content-Type": "application/json", "Authorization": f"Bearer {KEYS['FASTCORE_SITE_INGEST_TOKEN']}"}


def posts(path: str):
    """For client n: the lead with a fresh request_id each time."""
    template, placeholder = http_request("POST", path, HEADERS, LEAD), REQUEST_ID.encode()
    return lambda _n: lambda: template.replace(placeholder, str(uuid.uuid4()).encode())


def smtp_settings(port: int) -> dict[str, str]:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_TLS": "false",
            "FROM_EMAIL": "hub@bench.invalid", "ADMIN_EMAIL": "sales@bench.invalid"}


def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--clients", type=int, default=12, help="clients posting leads (default 12)")
    args = parser.parse_args()
    with Bench({"INGEST_RATE_LIMIT": "100000000/minute"}, args, peer="smtp", peer_settings=smtp_settings) as bench:
        ingest_under_peer_modes(bench, "leads", posts("/inbound/leads"), posts("/floor/lead"), args, expect=(201,))


if __name__ == "__main__":
    main()
