"""What every partner played on loopback shares: a switch that makes it misbehave, and a ledger.

The tests leave a peer `ok`; the fault suite (faults/) turns it to `fail` (an error answer, nothing
processed) or `hang` (the answer comes only after the hub's timeout, the request having been processed:
the ambiguous case idempotency keys exist for), and reads from the ledger what reached it, per key.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

MODES = ("ok", "fail", "hang")


class Switch:
    """The peer's current behaviour: one of MODES (one word, set atomically: thread-safe enough)."""

    def __init__(self, hang_seconds: float = 0.0):
        self.mode = "ok"
        self.hang_seconds = hang_seconds

    def set(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown peer mode {mode!r}")
        self.mode = mode

    def admits(self) -> bool:
        """Whether to process the request now: never under `fail`; under `hang`, after `hang_seconds`."""
        if self.mode == "fail":
            return False
        if self.mode == "hang":
            time.sleep(self.hang_seconds)
        return True


class Ledger:
    """Deliveries a peer processed, counted per key, and the protocol problems it saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deliveries: Counter[str] = Counter()
        self.problems: list[str] = []

    def record(self, key: str) -> None:
        with self.lock:
            self.deliveries[key] += 1

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)
