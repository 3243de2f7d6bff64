"""After the faults: let the outbox and FASTCore's fallback queue empty, doing what an operator would.

The scheduler sweeps every minute on its own; to keep the run short the operator also runs
`flask outbox sweep` every `SWEEP_EVERY_SECONDS`, asks FASTCore to flush its fallback queue
(`POST /admin/queue/flush`, answered by one web server: it writes the leads in Redis and in that
server's own file; every web server writes the leads of its own file by itself), and, if a message
died, `flask outbox replay --all-dead`. Each of those actions is recorded for the report. The wait
ends when nothing moved for `STALLED_SECONDS`, or at a hard limit; what is still pending then counts
as lost.
"""

from __future__ import annotations

import time

import psycopg2
import requests

from faults.stack import KEYS, Stack

SWEEP_EVERY_SECONDS = 15
IDLE_SECONDS = 10  # nothing left to deliver, yet a delivery is missing: it will not come
STALLED_SECONDS = 60  # messages pending but none delivered for this long: the drain gives up


class Drain:
    def __init__(self, stack: Stack, expected_done):
        """`expected_done()` says whether every delivery the load calls for has reached its peer."""
        self.stack, self.expected_done = stack, expected_done
        self.actions: list[str] = []

    def outbox_counts(self) -> dict[str, int]:
        with psycopg2.connect(self.stack.database_url) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT status, count(*) FROM outbox GROUP BY status")
            counts = dict(cursor.fetchall())
        connection.close()
        return {status: counts.get(status, 0) for status in ("pending", "delivered", "dead")}

    def fallback_queue_sizes(self) -> dict[str, int]:
        """{web server: leads queued in Redis and in that server's own file}."""
        sizes = {}
        for name, url in zip(self.stack.web_names, self.stack.web_urls, strict=True):
            answer = requests.get(f"{url}/admin/queue/stats", timeout=10,
                                  headers={"Authorization": f"Bearer {KEYS['FASTCORE_ADMIN_TOKEN']}"})
            answer.raise_for_status()
            sizes[name] = int(answer.json()["queue_size"])
        return sizes

    def flush_fallback_queue(self, sizes: dict[str, int]) -> None:
        answer = requests.post(f"{self.stack.web_url}/admin/queue/flush", timeout=60,
                               headers={"Authorization": f"Bearer {KEYS['FASTCORE_ADMIN_TOKEN']}"})
        answer.raise_for_status()
        report = answer.json()
        queued = ", ".join(f"{name} {size}" for name, size in sizes.items())
        self.actions.append(f"POST /admin/queue/flush to {self.stack.web_names[0]} (queued as each web server "
                            f"saw it: {queued}): flushed {report.get('flushed')}, failed {report.get('failed')}, "
                            f"remaining {report.get('remaining')}")

    def sweep(self) -> None:
        self.actions.append(f"flask outbox sweep: {self.stack.flask('outbox', 'sweep')}")

    def run(self, timeout: float) -> dict[str, int]:
        """Wait until nothing is pending, nothing is queued and every expected delivery arrived (or the
        drain stalls, or `timeout` passes). Returns the final outbox counts."""
        deadline = time.monotonic() + timeout
        replayed, idle_since = False, None
        next_sweep = last_progress = time.monotonic()
        last_counts: dict[str, int] = {}
        while True:
            counts, sizes = self.outbox_counts(), self.fallback_queue_sizes()
            queued = any(sizes.values())
            if counts != last_counts:
                last_counts, last_progress = counts, time.monotonic()
            if counts["pending"] == 0 and not queued:
                if counts["dead"] and not replayed:
                    replayed = True
                    self.actions.append("flask outbox replay --all-dead: "
                                        + self.stack.flask("outbox", "replay", "--all-dead"))
                    continue
                idle_since = idle_since or time.monotonic()
                if self.expected_done() or time.monotonic() - idle_since > IDLE_SECONDS:
                    return counts
            else:
                idle_since = None
            if time.monotonic() > deadline or time.monotonic() - last_progress > STALLED_SECONDS:
                return counts
            if time.monotonic() >= next_sweep:
                if queued:
                    self.flush_fallback_queue(sizes)
                if counts["pending"]:
                    self.sweep()
                next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS
            time.sleep(2)
