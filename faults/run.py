"""`python -m faults.run [--duration SECONDS] [--quick] [--topology NAME] [--keep]`: the fault suite.

Starts the peers and the hub, drives every domain's ingest while the faults happen, lets the outbox
drain, checks the database and the peers' ledgers, prints the table, and exits 1 when anything was
lost, duplicated or answered uncleanly. Every process and temporary directory is removed at the end,
also after Ctrl-C or an error (`--keep` keeps the work directory with the processes' logs).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path

import trustme
from pytest_httpserver import HTTPServer

from faults.chaos import Chaos, DestinationWatch
from faults.checks import Checker, table
from faults.drain import Drain
from faults.drivers import DRIVERS, drive
from faults.load import RETRY_WINDOW_SECONDS, Results
from faults.peers import ArkeselPeer, DashboardPeer
from faults.stack import DTECH_ACCOUNT_ID, KEYS, Stack
from tests.support.dtech_partner import DTechPartner
from tests.support.smtp import SmtpServer

MAX_STEPS_PER_DRIVER = 5000
PEER_TIMEOUT_SECONDS = 3  # the hub's timeout for every partner: a hanging peer costs a worker this long
HANG_SECONDS = PEER_TIMEOUT_SECONDS + 2
RECOVERY_SETTINGS = {
    # Limits on, far above this load: their Redis counters must fail open while Redis restarts.
    "RATE_LIMITS_ENABLED": "true", "INGEST_RATE_LIMIT": "100000/minute", "TRACKING_RATE_LIMIT": "100000/minute",
    "DTECH_PARTNER_CALL_RATE_LIMIT": "100000/minute", "SMS_RECIPIENTS_PER_HOUR": "1000000/hour",
    "SMS_DAILY_SEGMENT_CAP": "1000000", "SMS_DAILY_SEGMENT_CAP_PER_OPERATOR": "1000000",
    "ARKESEL_STATUS_TIMEOUT_SECONDS": str(PEER_TIMEOUT_SECONDS),
    "OUTBOX_CLAIM_SECONDS": "15", "OUTBOX_SWEEP_GRACE_SECONDS": "5", "OUTBOX_REQUEUE_SECONDS": "60",
    "REDIS_RETRY_PAUSE_SECONDS": "2",
    # A lead whose flush failed while PostgreSQL was down waits 10 s, not 5 minutes, for its next one.
    "FASTCORE_FALLBACK_BACKOFF": "10,30",
    # A failing window of a few seconds trips a breaker; its probe goes 5 s later.
    "OUTBOX_BREAKER_THRESHOLD": "5", "OUTBOX_BREAKER_COOLDOWN_SECONDS": "5",
    "HTTP_TIMEOUT_SECONDS": str(PEER_TIMEOUT_SECONDS), "DTECH_TIMEOUT_SECONDS": str(PEER_TIMEOUT_SECONDS),
    "SMTP_TIMEOUT_SECONDS": str(PEER_TIMEOUT_SECONDS),
}


def say(started: float, text: str) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {text}", flush=True)


def make_peers(storage_ca: trustme.CA, storage_ca_file: Path) -> dict:
    storage_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    storage_ca.issue_cert("127.0.0.1").configure_cert(storage_tls)
    dtech = DTechPartner(HTTPServer("127.0.0.1", 0, threaded=True),
                         HTTPServer("127.0.0.1", 0, ssl_context=storage_tls, threaded=True), str(storage_ca_file),
                         access_key=KEYS["AWS_ACCESS_KEY_ID"], secret_key=KEYS["AWS_SECRET_ACCESS_KEY"],
                         hang_seconds=HANG_SECONDS)
    dtech.serve_sales()
    return {"dashboard": DashboardPeer(HANG_SECONDS), "smtp": SmtpServer(hang_seconds=HANG_SECONDS),
            "arkesel": ArkeselPeer(HANG_SECONDS, KEYS["ARKESEL_API_KEY"]), "dtech": dtech}


def peer_settings(peers: dict) -> dict[str, str]:
    """Where the hub finds its partners; account names and passwords are placeholders."""
    return {
        "DTECH_UPLOAD_HOSTS": "127.0.0.1", "DTECH_UPLOAD_CA_FILE": peers["dtech"].ca_file,
        "AWS_REGION": peers["dtech"].region,
        "DASHBOARD_BASE_URL": peers["dashboard"].url, "SVC_EMAIL": "svc@faults.invalid",
        "SVC_PASSWORD": "faults-dashboard-password",
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(peers["smtp"].port), "SMTP_TLS": "false",
        "FROM_EMAIL": "hub@faults.invalid", "ADMIN_EMAIL": "alerts@faults.invalid",
        "ARKESEL_BASE_URL": peers["arkesel"].url, "ARKESEL_SENDER_ID": "FaultsHub",
        "DIFFERENT_API_BASE": peers["dtech"].base_url, "DIFFERENT_ACCOUNT_ID": DTECH_ACCOUNT_ID,
    }


def supervise(stack: Stack, stop: threading.Event) -> None:
    while not stop.wait(1):
        stack.supervise()


TOPOLOGIES = {"machines": True, "one-host": False}  # name -> Stack(machines=...)


def run(duration: float, drain_seconds: float, workdir: Path, machines: bool) -> int:
    started = time.monotonic()
    storage_ca = trustme.CA()  # DTech's recording storage is https, as S3 is
    storage_ca_file = workdir / "storage-ca.pem"
    storage_ca.cert_pem.write_to_path(str(storage_ca_file))
    peers = make_peers(storage_ca, storage_ca_file)
    for peer in peers.values():
        peer.start()
    # As many gunicorn worker processes in all on both topologies: the 2 cores are shared.
    stack = Stack(workdir, {**RECOVERY_SETTINGS, **peer_settings(peers)}, machines=machines,
                  web_args=("--workers", "1" if machines else "2"))
    stop_load, stop_chaos, stop_supervisor = threading.Event(), threading.Event(), threading.Event()
    stop_watch = threading.Event()
    try:
        say(started, f"starting PostgreSQL, Redis, migrations and the hub: {stack.topology()}")
        stack.start()
        threading.Thread(target=supervise, args=(stack, stop_supervisor), daemon=True).start()
        results = Results()
        drivers = [threading.Thread(target=drive, args=(cls(stack.web_urls, results), stop_load,
                                                        MAX_STEPS_PER_DRIVER), name=cls.domain, daemon=True)
                   for cls in DRIVERS]
        chaos = Chaos(stack, peers, duration)
        say(started, f"hub healthy at {', '.join(stack.web_urls)}; load and faults for {duration:.0f} s")
        for thread in drivers:
            thread.start()
        chaos_thread = threading.Thread(target=chaos.run, args=(stop_chaos,), daemon=True)
        chaos_thread.start()
        watch = DestinationWatch(stack.database_url)
        watch_thread = threading.Thread(target=watch.run, args=(stop_watch,), daemon=True)
        watch_thread.start()
        stop_load.wait(duration)
        stop_load.set()
        say(started, "load stopped; clients finish the requests they are retrying")
        for thread in drivers:
            thread.join(RETRY_WINDOW_SECONDS + 30)
        stop_chaos.set()
        chaos.finish()
        ledgers = {**{name: peer.ledger for name, peer in peers.items()}, "dtech_starts": peers["dtech"].started}
        checker = Checker(stack.database_url, results, ledgers)
        say(started, f"faults over; draining the outbox (at most {drain_seconds:.0f} s)")
        drain = Drain(stack, lambda: all(row.lost == 0 for row in checker.verdict().rows))
        counts = drain.run(drain_seconds)
        stop_watch.set()
        watch_thread.join(10)
        watch.poll()
        verdict = checker.verdict()
        check_delivery_control(watch, verdict)
        checker.close()
        say(started, "done")
        report(verdict, results, chaos, drain, counts, stack, watch)
        return 0 if verdict.passed else 1
    finally:
        stop_load.set()
        stop_watch.set()
        stop_chaos.set()
        stop_supervisor.set()
        stack.stop()
        for peer in peers.values():
            peer.stop()


def check_delivery_control(watch: DestinationWatch, verdict) -> None:
    """The chaos paused the dashboard and made it fail long enough to trip its breaker: both must have
    happened, and every destination must be active again at the end."""
    if not watch.saw("dashboard", "paused"):
        verdict.problems.append("the dashboard destination was never seen paused: the pause did not take")
    if not any(watch.saw(name, "open") for name in watch.seen):
        verdict.problems.append("no circuit breaker was seen open: the failing peers did not trip one")
    stuck = [name for name, states in watch.seen.items() if states[-1][1] != "active"]
    if stuck:
        verdict.problems.append(f"destinations not active at the end: {', '.join(sorted(stuck))}")


def report(verdict, results: Results, chaos: Chaos, drain: Drain, counts: dict, stack: Stack,
           watch: DestinationWatch) -> None:
    print(f"\nTopology: {stack.topology()}")
    print("\nFaults injected (seconds after the load started):")
    for at, label in sorted(chaos.log):
        print(f"  {at:6.1f}  {label}")
    for error in chaos.errors:
        print(f"  FAILED TO INJECT: {error}")
    print("\nDestination states seen (seconds after the load started):")
    for name, states in sorted(watch.seen.items()):
        print(f"  {name:14} " + " -> ".join(f"{state} ({at:.1f})" for at, state in states))
    print("\nOperator actions during the drain:" if drain.actions else "\nNo operator action was needed.")
    for action in drain.actions:
        print(f"  {action}")
    restarts = ", ".join(f"{name} x{count}" for name, count in stack.restarts.items()) or "none"
    print(f"Hub processes that exited by themselves and were started again (as a process manager would): "
          f"{restarts}")
    print(f"Outbox at the end: {counts}")
    answers = {}
    for (domain, label), count in results.answers.items():
        answers.setdefault(domain, []).append(f"{label}: {count}")
    print("\nAnswers seen by the clients (refusals were retried):")
    for domain, labels in sorted(answers.items()):
        print(f"  {domain:14} {', '.join(sorted(labels))}")
    gave_up = dict(results.gave_up) or "none"
    print(f"Requests given up after {RETRY_WINDOW_SECONDS} s of refusals (not accepted): {gave_up}")
    print(f"Accepted on a retry whose first answer was lost: {dict(results.after_ambiguity) or 'none'}")
    print("\n" + table(verdict))
    for note in verdict.notes:
        print(f"NOTE: {note}")
    for problem in verdict.problems:
        print(f"PROBLEM: {problem}")
    print("\nPASS: nothing lost, nothing duplicated" if verdict.passed else "\nFAIL")


def _interrupt(*_args) -> None:
    """Ctrl-C and SIGTERM stop the run and clean up."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faults.run", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, help="seconds of load and faults (default 180, --quick 50)")
    parser.add_argument("--quick", action="store_true", help="a short run, about two minutes in all")
    parser.add_argument("--topology", choices=sorted(TOPOLOGIES),
                        help="machines: 2 gunicorn servers, 2 workers and the scheduler, each with its own "
                             "instance folder (the default); one-host: one gunicorn, 2 workers and the "
                             "scheduler sharing one (the default with --quick)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (process logs)")
    args = parser.parse_args(argv)
    machines = TOPOLOGIES[args.topology or ("one-host" if args.quick else "machines")]
    duration = args.duration or (50 if args.quick else 180)
    drain_seconds = 120 if args.quick else 300
    workdir = Path(tempfile.mkdtemp(prefix="hub-faults-"))
    for noisy in ("werkzeug", "mail.log"):  # the peers' access logs would drown the report
        logging.getLogger(noisy).setLevel(logging.ERROR)
    for signum in (signal.SIGINT, signal.SIGTERM):  # also when started with SIGINT ignored (a background job)
        signal.signal(signum, _interrupt)
    try:
        return run(duration, drain_seconds, workdir, machines)
    except KeyboardInterrupt:
        print("interrupted: everything started was stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
