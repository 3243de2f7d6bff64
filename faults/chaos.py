"""The fault schedule: what goes wrong, and when, while the load runs.

Times are fractions of the load phase, so `--quick` and longer runs see the same story. Each peer fails
(503 / SMTP 451), then hangs past the hub's timeout, then recovers (the SMTP server also refuses
connections for a while). A window lasts at most `MAX_WINDOW_SECONDS`, so that a peer outage is
shorter than the first two retry delays (10 s + 60 s) of the hub's default backoff: every message is
then delivered within minutes, without waiting for the 5-minute third retry. Each event runs in its
own thread, so a slow restart does not delay the next fault.

Delivery control is exercised too: an operator pauses the dashboard destination (`flask outbox pause`) for
a window and resumes it, and the dashboard's failing window trips its circuit breaker (the suite runs with a
low OUTBOX_BREAKER_THRESHOLD and a short cool-down). `DestinationWatch` records every state a destination
went through, so the report shows the trip and the pause really happened.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg2

from faults.stack import Stack

MAX_WINDOW_SECONDS = 15
REDIS_DOWN_SECONDS = 3
POSTGRES_DOWN_SECONDS = 5


class Chaos:
    def __init__(self, stack: Stack, peers: dict, duration: float):
        self.stack, self.peers, self.duration = stack, peers, duration
        self.window = max(4.0, min(MAX_WINDOW_SECONDS, duration * 0.08))
        self.log: list[tuple[float, str]] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def plan(self) -> list[tuple[float, str, Callable[[], None]]]:
        """(seconds after the load starts, label, action), in time order."""
        d, w, stack = self.duration, self.window, self.stack
        events: list[tuple[float, str, Callable[[], None]]] = [
            (0.08 * d, "SIGKILL worker-1 mid-delivery; start a new one", lambda: stack.kill_worker("worker-1")),
            (0.45 * d, f"restart Redis ({REDIS_DOWN_SECONDS} s down)", lambda: stack.restart_redis(REDIS_DOWN_SECONDS)),
            (0.55 * d, "SIGKILL worker-2 mid-delivery; start a new one", lambda: stack.kill_worker("worker-2")),
            (0.65 * d, f"restart PostgreSQL ({POSTGRES_DOWN_SECONDS} s down)",
             lambda: stack.restart_postgres(POSTGRES_DOWN_SECONDS)),
            (0.80 * d, "SIGKILL worker-1 mid-delivery; start a new one", lambda: stack.kill_worker("worker-1")),
            # Both at once: FASTCore must then queue leads in its local fallback file.
            (0.90 * d, f"restart PostgreSQL ({POSTGRES_DOWN_SECONDS} s down) while Redis is down too",
             lambda: stack.restart_postgres(POSTGRES_DOWN_SECONDS)),
            (0.90 * d, f"restart Redis ({POSTGRES_DOWN_SECONDS} s down) while PostgreSQL is down too",
             lambda: stack.restart_redis(POSTGRES_DOWN_SECONDS)),
        ]
        events.append((0.40 * d, f"pause the dashboard destination (flask outbox pause), resume it {w:.0f} s after "
                                 "the pause took (flask outbox resume)", lambda: _maintenance(stack, w)))
        phases = {"dashboard": ("fail", "hang", "ok"), "smtp": ("fail", "hang", "down", "ok"),
                  "arkesel": ("fail", "hang", "ok"), "dtech": ("fail", "hang", "ok")}
        for start, (name, modes) in zip((0.12, 0.18, 0.24, 0.30), phases.items(), strict=True):
            for number, mode in enumerate(modes):
                events.append((start * d + number * w, f"{name} peer: {mode}", self._setter(name, mode)))
        return sorted(events, key=lambda event: event[0])

    def _setter(self, name: str, mode: str) -> Callable[[], None]:
        return lambda: self.peers[name].set(mode)

    def run(self, stop: threading.Event) -> None:
        """Fire each event at its time (in the caller's thread; events themselves run in their own)."""
        started = time.monotonic()
        for offset, label, action in self.plan():
            if stop.wait(max(0.0, started + offset - time.monotonic())):
                return
            thread = threading.Thread(target=self._fire, args=(started, label, action), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _fire(self, started: float, label: str, action: Callable[[], None]) -> None:
        with self.lock:
            self.log.append((time.monotonic() - started, label))
        try:
            action()
        except Exception as exc:  # a fault that could not be injected is reported, not fatal
            with self.lock:
                self.errors.append(f"{label}: {type(exc).__name__}: {exc}")

    def finish(self, timeout: float = 60) -> None:
        """Wait for faults in progress (a restart) and make sure every peer is healthy again."""
        for thread in self.threads:
            thread.join(timeout)
        for peer in self.peers.values():
            peer.set("ok")


def _maintenance(stack: Stack, seconds: float) -> None:
    """An operator pauses the dashboard destination, and resumes it `seconds` after the pause took."""
    _as_operator(stack, "outbox", "pause", "dashboard", "--reason", "fault suite: planned maintenance")
    time.sleep(seconds)
    _as_operator(stack, "outbox", "resume", "dashboard")


def _as_operator(stack: Stack, *args: str, patience: float = 60) -> None:
    """Run `flask *args` as an operator does: again, a few seconds later, while it fails (the database
    may be restarting at that moment); raises its last error after `patience` seconds."""
    deadline = time.monotonic() + patience
    while True:
        try:
            stack.flask(*args)
            return
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            time.sleep(3)


class DestinationWatch:
    """Polls the hub's `outbox_destination` table and keeps each destination's states in the order seen
    (`active`, `paused`, `open`, `half_open`), each with the second it was first seen. A database restart
    only makes it miss a few polls."""

    def __init__(self, database_url: str, every_seconds: float = 0.25):
        self.database_url, self.every_seconds = database_url, every_seconds
        self.seen: dict[str, list[tuple[float, str]]] = {}
        self.started = time.monotonic()
        self.connection = None

    def run(self, stop: threading.Event) -> None:
        self.started = time.monotonic()
        while not stop.wait(self.every_seconds):
            self.poll()

    def poll(self) -> None:
        """Read every destination's state once (also after the run, for the final word)."""
        try:
            self.connection = self.connection or psycopg2.connect(self.database_url, connect_timeout=2)
            with self.connection.cursor() as cursor:
                cursor.execute("SELECT name, CASE WHEN paused THEN 'paused' WHEN breaker = 'closed' THEN 'active' "
                               "ELSE breaker END FROM outbox_destination")
                rows = cursor.fetchall()
            self.connection.rollback()
        except psycopg2.Error:
            self.connection = None
            return
        for name, state in rows:
            states = self.seen.setdefault(name, [])
            if not states or states[-1][1] != state:
                states.append((time.monotonic() - self.started, state))

    def saw(self, name: str, state: str) -> bool:
        return any(seen == state for _, seen in self.seen.get(name, []))
