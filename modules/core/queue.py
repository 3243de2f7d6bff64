"""RQ queues, and jobs enqueued only after the transaction that wrote their rows.

Enqueueing never fails a request: when Redis is unreachable the row is already committed and the
outbox sweeper enqueues it later. After a failure, enqueue attempts pause for a few seconds so that
a Redis outage does not add a connection timeout to every ingest answer.

`enqueue_once` serves hot paths: many requests, one queued job. A request costs at most one Redis
`SET NX` instead of an RQ enqueue (about 1 ms of CPU), none within its caller's quiet time, and the
worker runs one job for many rows.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, has_app_context
from rq import Queue
from sqlalchemy import event
from sqlalchemy.orm import Session

from modules.core.extensions import db
from modules.core.redis_client import REDIS_ERRORS, get_redis, pause_redis, redis_paused

log = logging.getLogger(__name__)

OUTBOX_QUEUE = "outbox"
PERIODIC_QUEUE = "periodic"
QUEUE_NAMES = (OUTBOX_QUEUE, PERIODIC_QUEUE)

WAITING_KEY_PREFIX = "hub:waiting:"
WAITING_TTL_SECONDS = 30  # bounds how long a lost job (a worker killed before starting it) blocks new ones

_asked_at: dict[str, float] = {}  # when this process last asked Redis for a job of `enqueue_once`, per key


def get_queue(name: str = OUTBOX_QUEUE, app: Flask | None = None) -> Queue:
    return Queue(name, connection=get_redis(app))


def enqueue(func: Callable, *args: Any, queue: str = OUTBOX_QUEUE, delay_seconds: float = 0) -> bool:
    """Enqueue now (or after a delay); False when Redis is unreachable (the caller's rows stay due)."""

    def send() -> None:
        target = get_queue(queue)
        if delay_seconds > 0:
            target.enqueue_in(timedelta(seconds=delay_seconds), func, *args)
        else:
            target.enqueue(func, *args)

    return _unless_redis_down(send)


def enqueue_once(func: Callable, key: str, queue: str = OUTBOX_QUEUE, job_timeout: int | None = None,
                 quiet_seconds: float = 0) -> bool:
    """Enqueue `func` (no arguments) unless a job enqueued under `key` is still waiting to start.

    The job must call `waiting_job_started(key)` before it looks for work: then whatever was committed
    before a call that found a job waiting is seen by that job. A job that waits longer than
    WAITING_TTL_SECONDS (behind long jobs) may get a second one queued behind it: harmless, it finds
    less to do. False when Redis is unreachable (or was, moments ago: `redis_paused`).

    With `quiet_seconds`, this process skips the Redis call (and answers True) if it made one for `key`,
    with or without a quiet time, less than that long ago. The job must then look for work once more at
    least `quiet_seconds` after it first finds none: a call skipped at time t follows one made after
    t - quiet_seconds, which queued the job or found it waiting, so that job starts after it, first finds
    no work after it, and looks again after t. (If that job dies before it looks again, the commit
    waits for the sweeper.)"""
    asked, last_asked = time.monotonic(), _asked_at.get(key)
    if quiet_seconds and last_asked is not None and asked - last_asked < quiet_seconds:
        return True

    def send() -> None:
        connection = get_redis()
        if connection.set(WAITING_KEY_PREFIX + key, 1, nx=True, ex=WAITING_TTL_SECONDS):
            try:
                get_queue(queue).enqueue(func, job_timeout=job_timeout)
            except BaseException:
                connection.delete(WAITING_KEY_PREFIX + key)
                raise

    # Marked as asked before the call is sent, not once it is answered: under gevent the requests that
    # commit while this call waits for Redis would otherwise all make it too, each still holding its
    # database connection (the pool then opens more). They rely on this call; if it fails, Redis is down
    # (and paused), so they would have failed too: the mark is taken back and the sweeper delivers.
    _asked_at[key] = asked
    sent = _unless_redis_down(send)
    if not sent:
        if last_asked is None:
            _asked_at.pop(key, None)
        else:
            _asked_at[key] = last_asked
    return sent


def waiting_job_started(key: str) -> None:
    """Called by a job of `enqueue_once` as it starts: later calls enqueue a new one."""
    get_redis().delete(WAITING_KEY_PREFIX + key)


def _unless_redis_down(send: Callable[[], None]) -> bool:
    if redis_paused():
        return False
    try:
        send()
        return True
    except REDIS_ERRORS as exc:
        pause_redis()
        log.warning("redis unavailable, job left for the sweeper", extra={"error": type(exc).__name__})
        return False


def enqueue_after_commit(func: Callable, *args: Any, queue: str = OUTBOX_QUEUE, delay_seconds: float = 0) -> None:
    """Enqueue once the current database transaction commits; dropped if it rolls back."""
    session = db.session()
    session.info.setdefault("after_commit_jobs", []).append((func, args, queue, delay_seconds))


def enqueue_once_after_commit(func: Callable, key: str, queue: str = OUTBOX_QUEUE,
                              job_timeout: int | None = None, quiet_seconds: float = 0) -> None:
    """`enqueue_once` when the current transaction commits, however many times it was asked for."""
    db.session().info.setdefault("after_commit_once", {})[key] = (func, queue, job_timeout, quiet_seconds)


@event.listens_for(Session, "after_commit")
def _enqueue_committed_jobs(session: Session) -> None:
    for func, args, queue, delay_seconds in session.info.pop("after_commit_jobs", []):
        enqueue(func, *args, queue=queue, delay_seconds=delay_seconds)
    for key, (func, queue, job_timeout, quiet_seconds) in session.info.pop("after_commit_once", {}).items():
        enqueue_once(func, key, queue=queue, job_timeout=job_timeout, quiet_seconds=quiet_seconds)


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back_jobs(session: Session) -> None:
    session.info.pop("after_commit_jobs", None)
    session.info.pop("after_commit_once", None)


def app_job(func: Callable) -> Callable:
    """Run an RQ job in a fresh app context, so each job gets its own database session. The worker
    (`flask worker`) provides the app; a job run without one says so."""

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not has_app_context():
            raise RuntimeError(f"{func.__name__} needs the hub's app: run workers with `flask worker`")
        with current_app._get_current_object().app_context():
            return func(*args, **kwargs)

    return run
