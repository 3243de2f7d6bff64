"""What every benchmark shares: the hub started the production way beside its floor, a phase of load measured
with CPU by process group, and runs repeated with their medians.

`Bench` starts faults/stack.py's Stack (throw-away PostgreSQL, Redis, migrations, gunicorn with
gunicorn.conf.py; hub workers only when asked) and the floor (bench/floor.py) under the same gunicorn,
configuration, worker class and worker count, on the same database; optionally a partner (bench/peer.py).
Everything it started is stopped and removed on exit, whatever happened.

`phase` loads one server with loadgen's clients and returns a small dict: requests/s, p50/p99 (ms),
answers of another status, failures, and CPU ms per request by group: `web` (the hub's gunicorn, master and
workers), `floor` (the floor's gunicorn), `PostgreSQL` (postmaster and every backend, ended ones included),
`Redis`, `workers` (`flask worker` processes), `peer`, `load generator` (this process). `repeat` runs a
benchmark's phases `--runs` times and prints each run, the hub/floor ratios and the median of each figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import floor  # noqa: E402
import loadgen  # noqa: E402

from faults.stack import BIN, KEYS, Stack  # noqa: E402
from tests.support.servers import free_port  # noqa: E402

__all__ = ["KEYS", "Bench", "arguments", "ingest_under_peer_modes", "repeat"]

#: The server-side groups whose CPU a request costs (the load generator and the peer are not the hub).
SERVER_GROUPS = ("web", "floor", "PostgreSQL", "Redis", "workers")


def arguments(description: str, seconds: float | None = 12, runs: int = 3) -> argparse.ArgumentParser:
    """The options every benchmark takes (--seconds unless `seconds` is None); `description` is its --help text
    (what it measures, how long)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=runs, help=f"runs of every phase (default {runs}); medians last")
    if seconds is not None:
        parser.add_argument("--seconds", type=float, default=seconds, help=f"measured seconds per phase (default "
                            f"{seconds:g}, after a 1 s warm-up)")
    parser.add_argument("--web-workers", type=int, default=3, help="gunicorn workers, hub and floor alike (default 3)")
    parser.add_argument("--worker-class", default="gevent", help="gunicorn worker class (default gevent, as "
                        "gunicorn.conf.py; `sync` to compare)")
    return parser


class Peer:
    """bench/peer.py in its own process: `mode` switches it (`ok`, `fail`, `hang`)."""

    def __init__(self, kind: str, log: Path):
        with open(log, "ab") as errors:
            self.process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "peer.py"), kind], cwd=ROOT,
                                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors, text=True,
                                            start_new_session=True)
        answer = self.process.stdout.readline()
        if not answer.strip().isdigit():
            raise RuntimeError(f"the {kind} peer did not start: {log.read_text()[-800:]}")
        self.port = int(answer)

    def mode(self, mode: str) -> None:
        self.process.stdin.write(mode + "\n")
        self.process.stdin.flush()
        time.sleep(0.2)

    def stop(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class Bench:
    """The hub (Stack, no hub worker unless `start_workers`), its floor and optionally a peer; a context manager.
    `settings` go to the hub's environment; the peer's port is in `peer.port` before the hub starts (pass
    `peer_settings(port)` to make settings from it)."""

    def __init__(self, settings: dict[str, str], args: argparse.Namespace, peer: str | None = None,
                 peer_settings: Callable[[int], dict[str, str]] | None = None, with_floor: bool = True):
        self.workdir = Path(tempfile.mkdtemp(prefix="hub-bench-"))
        self.web_args = ["--workers", str(args.web_workers), "--worker-class", args.worker_class]
        self.settings, self.peer_kind, self.peer_settings = settings, peer, peer_settings
        self.with_floor = with_floor
        self.peer: Peer | None = None
        self.stack: Stack | None = None
        self.workers: list[str] = []

    def __enter__(self) -> Bench:
        try:
            self.peer = Peer(self.peer_kind, self.workdir / "peer.log") if self.peer_kind else None
            settings = {**self.settings, **(self.peer_settings(self.peer.port) if self.peer else {})}
            self.stack = Stack(self.workdir, settings, workers=0, scheduler=False, web_args=self.web_args)
            self.stack.start()
            if self.with_floor:
                self._start_floor()
        except BaseException:
            self.__exit__()
            raise
        served = "the hub and its floor" if self.with_floor else "the hub"
        print(f"gunicorn {' '.join(self.web_args)} for {served}; PostgreSQL and Redis on this machine "
              f"({os.cpu_count()} CPUs); load average {os.getloadavg()[0]:.2f}", flush=True)
        return self

    def __exit__(self, *exc_info) -> None:
        if self.stack is not None:
            self.stack.stop()
        if self.peer is not None:
            self.peer.stop()
        self._report_log_errors()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _report_log_errors(self) -> None:
        """How many tracebacks and error lines each process logged (the logs go with the work directory)."""
        for log in sorted(self.workdir.glob("**/*.log")):
            text = log.read_text(errors="replace")
            tracebacks, errors = text.count("Traceback"), text.count('"level": "ERROR"') + text.count("[ERROR]")
            if tracebacks or errors:
                last = text.strip().splitlines()[-1][:300]
                print(f"{log.name}: {tracebacks} tracebacks, {errors} error lines; last line: {last}")

    def _start_floor(self) -> None:
        floor.create_tables(self.stack.database_url)
        self.floor_port = free_port()
        log = open(self.stack.logs / "floor.log", "ab")  # closed by Stack.stop()
        self.stack.log_files.append(log)
        env = {**self.stack.env("web"), "FLOOR_DATABASE_URL": self.stack.database_url}
        self.stack.processes["floor"] = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"), "--bind",
             f"127.0.0.1:{self.floor_port}", "--pythonpath", str(ROOT / "bench"), *self.web_args, "floor:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_for(self.floor_port)

    @property
    def hub_port(self) -> int:
        return int(self.stack.web_url.rsplit(":", 1)[1])

    def start_workers(self, count: int) -> None:
        """`count` more `flask worker` processes, started the way the stack starts them."""
        for _ in range(count):
            name = f"worker-{len(self.workers) + 1}"
            self.stack.spawn(name)
            self.workers.append(name)

    def stop_workers(self) -> None:
        for name in self.workers:
            self.stack.end(name)
        self.workers = []

    def groups(self) -> dict[str, list[int]]:
        """The root process ids of each group (their descendants belong to the group)."""
        processes = self.stack.processes
        return {"web": [processes["web"].pid], "floor": [processes["floor"].pid] if self.with_floor else [],
                "PostgreSQL": [self.stack.postgres.pid()], "Redis": [self.stack.redis.process.pid],
                "workers": [processes[name].pid for name in self.workers],
                "peer": [self.peer.process.pid] if self.peer else []}

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by each group, and by this process (`load generator`)."""
        return {**{name: _cpu_seconds(pids) for name, pids in self.groups().items()},
                "load generator": time.process_time()}

    def phase(self, port: int, requests: Callable[[int], Callable[[], bytes]], clients: int, seconds: float,
              expect: tuple[int, ...] = (200,), units: int = 1) -> dict:
        """One phase of load on `port` (see loadgen.run_clients); `units` per request (events in a batch)."""
        marks = {}

        def mark() -> None:
            marks["cpu"], marks["started"] = self.cpu(), time.monotonic()

        load = loadgen.run_clients(port, requests, clients, seconds, mark, expect=expect)
        elapsed, used = time.monotonic() - marks["started"], self.cpu()
        figures = load.figures(elapsed)
        count = max(figures["requests"], 1)
        figures["cpu_ms"] = {name: (used[name] - marks["cpu"][name]) * 1000 / count for name in used}
        figures["server_ms"] = sum(figures["cpu_ms"][name] for name in SERVER_GROUPS)
        figures["units"], figures["per_request"] = figures["rate"] * units, units
        return figures


def _wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as connection:
                status, _ = loadgen.exchange(connection, loadgen.http_request("GET", "/health"))
                if status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:.0f} s")


def _cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of the processes and all their descendants, ended and reaped children included."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            family = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in family:
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system + times.children_user + times.children_system
    return total


# Reporting ------------------------------------------------------------------------------------------------

def describe(label: str, figures: dict, unit: str = "requests") -> str:
    """One phase on two lines: rate, latency, refusals; CPU ms per request by group."""
    rate = f"{figures['units']:>9,.0f} {unit}/s" + (f" ({figures['rate']:,.0f} requests/s)"
                                                   if round(figures["units"]) != round(figures["rate"]) else "")
    other = f"{figures['unexpected']} other status {figures['statuses']}" if figures["unexpected"] else "0 other status"
    cpu = "  ".join(f"{name} {ms:.2f}" for name, ms in figures["cpu_ms"].items() if ms >= 0.005)
    return (f"  {label:34} {rate}  p50 {figures['p50_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms  {other}, "
            f"{figures['failures']} failed\n  {'':34} CPU ms/request: {cpu}  (server {figures['server_ms']:.2f}"
            + (f", {figures['server_ms'] * 1000 / figures['per_request']:.0f} us per {unit[:-1]})"
               if figures["per_request"] > 1 else ")"))


def ratios(hub: dict, base: dict) -> dict[str, float]:
    """The hub's figures against its floor's in the same run: rate (hub/floor, under 1 is slower) and
    server CPU per request (hub/floor, over 1 costs more)."""
    return {"rate": hub["rate"] / base["rate"] if base["rate"] else 0.0,
            "server CPU": hub["server_ms"] / base["server_ms"] if base["server_ms"] else 0.0,
            "p99": hub["p99_ms"] / base["p99_ms"] if base["p99_ms"] else 0.0}


def repeat(runs: int, one_run: Callable[[int], dict[str, dict]], pairs: dict[str, tuple[str, str]],
           unit: str = "requests") -> list[dict[str, dict]]:
    """Call `one_run(n)` `runs` times (it returns {phase label: phase figures}); print each run, the ratio of
    each (hub label, floor label) of `pairs`, the load average before/after, then the medians."""
    results = []
    for n in range(runs):
        load_before = os.getloadavg()[0]
        phases = one_run(n)
        print(f"run {n + 1}/{runs}: load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
        for label, figures in phases.items():
            print(describe(label, figures, unit))
        for name, (hub, base) in pairs.items():
            if hub in phases and base in phases:
                phases[f"ratio: {name}"] = ratios(phases[hub], phases[base])
                print(f"  ratio {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in phases[f"ratio: {name}"].items()))
        results.append(phases)
        sys.stdout.flush()
    print_medians(results, unit)
    return results


def print_medians(results: list[dict[str, dict]], unit: str) -> None:
    print(f"\nmedians of {len(results)} run(s):")
    for label in results[0]:
        rows = [run[label] for run in results if label in run]
        if label.startswith("ratio: "):
            keys = rows[0].keys()
            print(f"  {label}: " + ", ".join(f"{k} {statistics.median(r[k] for r in rows):.2f}" for k in keys))
            continue
        median = {key: statistics.median(r[key] for r in rows) for key in ("units", "rate", "p50_ms", "p99_ms",
                                                                            "server_ms")}
        cpu = {name: statistics.median(r["cpu_ms"][name] for r in rows) for name in rows[0]["cpu_ms"]}
        shown = "  ".join(f"{name} {ms:.2f}" for name, ms in cpu.items() if ms >= 0.005)
        print(f"  {label:34} {median['units']:>9,.0f} {unit}/s  p50 {median['p50_ms']:6.1f} ms  p99 "
              f"{median['p99_ms']:6.1f} ms  CPU ms/request: {shown}  (server {median['server_ms']:.2f})")



# Ingest while a partner is healthy, failing, hanging ---------------------------------------------------------

PEER_MODES = {"ok": "peer ok", "fail": "peer failing", "hang": "peer hanging"}


def ingest_under_peer_modes(bench: Bench, what: str, hub: Callable[[int], Callable[[], bytes]],
                            base: Callable[[int], Callable[[], bytes]], args: argparse.Namespace,
                            expect: tuple[int, ...]) -> None:
    """`--runs` runs of: the floor, then the hub with its peer ok, failing and hanging (the floor last in every
    other run), `args.clients` clients each, one `flask worker` delivering throughout at its production
    priority; prints as `repeat` does, each hub phase's ratio to the floor of its run."""
    bench.start_workers(1)
    bench.phase(bench.hub_port, hub, 2, 1, expect=expect)
    bench.phase(bench.floor_port, base, 2, 1, expect=expect)

    def one_run(n: int) -> dict[str, dict]:
        phases = {} if n % 2 else {f"{what}: floor": bench.phase(bench.floor_port, base, args.clients, args.seconds,
                                                                 expect=expect)}
        for mode, label in PEER_MODES.items():
            bench.peer.mode(mode)
            phases[f"{what}: hub, {label}"] = bench.phase(bench.hub_port, hub, args.clients, args.seconds,
                                                          expect=expect)
        bench.peer.mode("ok")
        if n % 2:
            phases[f"{what}: floor"] = bench.phase(bench.floor_port, base, args.clients, args.seconds, expect=expect)
        return phases

    repeat(args.runs, one_run, {f"{what}, {label}": (f"{what}: hub, {label}", f"{what}: floor")
                                for label in PEER_MODES.values()}, unit=what)
