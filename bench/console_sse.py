"""Benchmark: what open consoles cost the ingest. The same load of 1-event link tracking batches (8 clients),
served the production way (PostgreSQL, Redis, gunicorn with gevent workers), with no console open and with
--consoles (default 50) signed-in consoles holding `/console/live` open, in the same run.

Each console is a real sign-in (the sign-in form with its CSRF token, one session each) and a stream of every
topic read over a raw socket, counting the events it receives (modules/core/live.py publishes `records` for
each stored batch while a console listens, at most twice a second per web process). Per run, two phases of
--seconds (default 10) after a 1 s warm-up, the order flipped every other run: batches/s, p50/p99, CPU ms per
batch by process group, Redis PUBLISH calls, and events delivered to the consoles; then the ratio with
consoles / without (rate, server CPU, p99) and the medians of --runs (default 2). About 1 minute in all.

    .venv/bin/python bench/console_sse.py [--runs 2] [--seconds 10] [--consoles 50] [--clients 8]
"""

from __future__ import annotations

import re
import time

import redis
import requests
from harness import Bench, arguments, repeat
from link_tracking_ingest import HUB_PATH, batches

from faults.stack import OPERATOR_EMAIL, OPERATOR_PASSWORD
from tests.support.sse import EventStream, cookie_header

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NO_THROTTLE = "100000/5minutes"  # every console signs in from 127.0.0.1, as the same operator


def sign_in(base_url: str) -> str:
    """A new console sign-in through the form; returns its Cookie header. (The hub runs in production mode,
    so its cookie is Secure: sent by hand over this plain-HTTP loopback.)"""
    form = requests.get(f"{base_url}/console/login", timeout=30)
    cookie = cookie_header(form.cookies)
    answer = requests.post(f"{base_url}/console/login", headers={"Cookie": cookie}, allow_redirects=False, timeout=30,
                           data={"email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD,
                                 "csrf_token": CSRF.search(form.text).group(1)})
    if answer.status_code != 303:
        raise RuntimeError(f"sign-in answered {answer.status_code}")
    return cookie_header(answer.cookies)


def publishes(connection: redis.Redis) -> int:
    return connection.info("commandstats").get("cmdstat_publish", {}).get("calls", 0)


def main() -> None:
    parser = arguments(__doc__, seconds=10, runs=2)
    parser.add_argument("--consoles", type=int, default=50, help="open consoles in the second phase (default 50)")
    parser.add_argument("--clients", type=int, default=8, help="clients posting 1-event batches (default 8)")
    args = parser.parse_args()
    settings = {"TRACKING_RATE_LIMIT": "100000000/minute", "LOGIN_ACCOUNT_RATE_LIMIT": NO_THROTTLE,
                "LOGIN_ACCOUNT_SPREAD_RATE_LIMIT": NO_THROTTLE, "LOGIN_ADDRESS_RATE_LIMIT": NO_THROTTLE}
    with Bench(settings, args, with_floor=False) as bench:
        url, load = bench.stack.web_url, batches(HUB_PATH, 1)
        connection = redis.Redis.from_url(bench.stack.redis.url)
        started = time.monotonic()
        cookies = [sign_in(url) for _ in range(args.consoles)]
        print(f"{args.consoles} console sign-ins in {time.monotonic() - started:.1f} s", flush=True)
        bench.phase(bench.hub_port, load, 2, 2)  # warm-up: connections, the tracking ids registered

        def measured(label: str, consoles: int) -> dict:
            streams = [EventStream(url, cookie, "records,deliveries,destinations") for cookie in cookies[:consoles]]
            if any(stream.status != 200 for stream in streams):
                raise RuntimeError(f"streams answered {sorted({stream.status for stream in streams})}")
            # A stream whose console left ends at its next write (a heartbeat within 15 s): wait for that.
            while connection.pubsub_numsub("hub:live")[0][1] != consoles:
                time.sleep(0.2)
            time.sleep(1.2)  # every web process has asked again whether anyone listens
            before = publishes(connection)
            figures = bench.phase(bench.hub_port, load, args.clients, args.seconds)
            time.sleep(0.5)  # the last events reach the consoles
            events = sum(stream.count for stream in streams)
            for stream in streams:
                stream.close()
            figures["publish"], figures["events"] = publishes(connection) - before, events
            print(f"  {label}: {figures['publish']} PUBLISH calls; {events} events received by {consoles} consoles "
                  f"({events / max(consoles, 1):.0f} each)", flush=True)
            return figures

        def one_run(n: int) -> dict[str, dict]:
            order = (("no console", 0), (f"{args.consoles} consoles", args.consoles))
            return {f"1-event batches, {label}": measured(label, consoles)
                    for label, consoles in (order[::-1] if n % 2 else order)}

        repeat(args.runs, one_run, {f"{args.consoles} consoles / none": (f"1-event batches, {args.consoles} consoles",
                                                                        "1-event batches, no console")})


if __name__ == "__main__":
    main()
