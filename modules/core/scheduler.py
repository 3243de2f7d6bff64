"""Periodic jobs: declared with `@periodic`, registered by their domain's `init_app`, enqueued on RQ by
exactly one running scheduler.

Several `flask scheduler` processes may run; a Redis lock lets one of them act and keeps the others
on standby. Next run times live in Redis, so a restart does not re-run every job at once, and a
heartbeat key tells `/health` and the admin APIs whether a scheduler is alive; the time of the last tick is
kept without expiry, so the console can say when a stopped scheduler was last seen.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from modules.core.queue import PERIODIC_QUEUE, enqueue
from modules.core.redis_client import get_redis
from modules.core.registry import PeriodicJob, registry

log = logging.getLogger(__name__)

LOCK_KEY = "hub:scheduler:lock"
NEXT_RUN_KEY = "hub:scheduler:next_run"
HEARTBEAT_KEY = "hub:scheduler:heartbeat"
LAST_TICK_KEY = "hub:scheduler:last_tick"  # no expiry: outlives the heartbeat of a scheduler that stopped
LOCK_SECONDS = 30


def periodic(job_id: str, every_seconds: int, name: str | None = None) -> Callable:
    """Declare a module-level job function to run every `every_seconds` on the periodic queue. The
    declaration rides on the function (`func.periodic_job`); the domain's `init_app` registers it."""

    def declare(func: Callable) -> Callable:
        func.periodic_job = PeriodicJob(job_id, name or job_id, func, every_seconds)
        return func

    return declare


def registered_jobs(app: Flask | None = None) -> list[PeriodicJob]:
    return sorted(registry(app).periodic_jobs.values(), key=lambda job: job.id)


class Scheduler:
    def __init__(self, app: Flask, tick_seconds: float = 1.0):
        self.app = app
        self.redis = get_redis(app)
        self.tick_seconds = tick_seconds
        self.lock = self.redis.lock(LOCK_KEY, timeout=LOCK_SECONDS)

    def run(self, stop: threading.Event) -> None:
        log.info("scheduler started", extra={"jobs": [job.id for job in registered_jobs(self.app)]})
        while not stop.is_set():
            try:
                if self._hold_lock():
                    self.run_due(datetime.now(UTC))
            except Exception:  # Redis restarting: stay alive and try again next tick
                log.exception("scheduler tick failed")
            stop.wait(self.tick_seconds)
        if self.lock.owned():
            self.lock.release()

    def _hold_lock(self) -> bool:
        if self.lock.owned():
            return self.lock.reacquire()
        return self.lock.acquire(blocking=False)

    def run_due(self, now: datetime) -> list[str]:
        ran = []
        with self.app.app_context():
            for job in registered_jobs(self.app):
                next_run = self.redis.hget(NEXT_RUN_KEY, job.id)
                if next_run and datetime.fromisoformat(next_run.decode()) > now:
                    continue
                if enqueue(job.func, queue=PERIODIC_QUEUE):
                    ran.append(job.id)
                    upcoming = now + timedelta(seconds=job.every_seconds)
                    self.redis.hset(NEXT_RUN_KEY, job.id, upcoming.isoformat())
        beat = self.redis.pipeline(transaction=False)
        beat.set(HEARTBEAT_KEY, now.isoformat(), ex=max(5, int(self.tick_seconds * 10)))
        beat.set(LAST_TICK_KEY, now.isoformat())
        beat.execute()
        return ran


def last_tick(redis) -> datetime | None:
    """When a scheduler last ran its due jobs (aware UTC), alive or not; None if none ever did here."""
    value = redis.get(LAST_TICK_KEY)
    return datetime.fromisoformat(value.decode()) if value else None


def status(redis) -> dict[str, Any]:
    """Whether a scheduler is alive, and every job of the current app with its next run time."""
    next_runs = {key.decode(): value.decode() for key, value in redis.hgetall(NEXT_RUN_KEY).items()}
    return {
        "running": bool(redis.exists(HEARTBEAT_KEY)),
        "jobs": [{"id": job.id, "name": job.name, "every_seconds": job.every_seconds,
                  "next_run_time": next_runs.get(job.id)} for job in registered_jobs()],
    }
