"""The fault schedule: what goes wrong, and when, while the load runs.

Times are fractions of the load phase, so `--quick` and longer runs see the same story. Each peer fails
(503 / SMTP 451), then hangs past the hub's timeout, then recovers (the SMTP server also refuses
connections for a while). A window lasts at most `MAX_WINDOW_SECONDS`, so that a peer outage is
shorter than the first two retry delays (10 s + 60 s) of the hub's default backoff: every message is
then delivered within minutes, without waiting for the 5-minute third retry. Each event runs in its
own thread, so a slow restart does not delay the next fault.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

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
