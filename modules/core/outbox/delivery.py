"""Delivery: drains that claim due messages a chunk at a time, one attempt each, retries on the backoff.

Once a transaction that added messages commits, a `drain` job is queued on RQ unless one is already
waiting: a worker's drain claims up to DRAIN_CHUNK due rows at once (rows no other worker holds), oldest
first, delivers them in order and records their outcomes in one transaction (`recording.py`), until none
is due. A busy outbox so costs a request at most one Redis `SET NX` (a web process asks at most once per
OUTBOX_DRAIN_SIGNAL_MS, and a drain that runs out of work looks again after twice that) and a worker one
RQ job for many rows; a drain that finds work queues another, so idle workers join in. Each delivery
calls the handler of the message's kind and records the attempt. Retries follow the kind's backoff
(`policy.py`: a setting may override it; jittered; a peer's Retry-After honoured), each one an RQ job
`deliver(id)` scheduled for its time, and the row ends `dead` after the last one. Handlers send an
idempotency key (the message id, or their record's id) where the partner's protocol has one.

Each attempt's outcome is also counted, by destination, for /metrics (`metrics.count_delivery`).

Every claim first asks the destinations (`destinations.py`) what is held: a paused destination's messages,
or those behind an open circuit breaker, are not claimed and use up no attempt; when a breaker's cool-down
is over, one message goes as its probe. A chunk ends at its first failure, so the next claim sees a
breaker that failure opened; a pause lands at the next claim, at most CHUNK_SECONDS later.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.outbox import claiming, destinations, policy, recording
from modules.core.outbox.handlers import (
    Deferred,
    DeliveryError,
    Message,
    Permanent,
    Retryable,
    Status,
    handler_for,
    own_writes,
)
from modules.core.outbox.recording import Delivered
from modules.core.queue import (
    OUTBOX_QUEUE,
    PERIODIC_QUEUE,
    app_job,
    enqueue_after_commit,
    enqueue_once,
    enqueue_once_after_commit,
    waiting_job_started,
)
from modules.core.registry import registry
from modules.core.types import utcnow

DRAIN_KEY = "outbox:drain"
DRAIN_SECONDS = 60  # then a drain hands over to the next one
DRAIN_JOB_TIMEOUT = DRAIN_SECONDS + 180  # a delivery that starts late in a drain keeps RQ's usual 180 s
DRAIN_CHUNK = 50  # messages claimed per round trip
CHUNK_SECONDS = 1.0  # a chunk's deliveries are recorded (and the rest given back) after at most this long
ALERT_CHECK_JOB, ALERT_CHECK_KEY = "outbox.alerts", "outbox:alerts"  # alerts.py's periodic check

log = logging.getLogger(__name__)


def drain_signal_seconds() -> float:
    """How long after asking for a drain a web process skips asking again (OUTBOX_DRAIN_SIGNAL_MS): at
    hundreds of forms a second, most commits then cost no Redis call. A drain looks for work once more
    twice that long after it runs out (see `drain`), so a commit that skipped the call is delivered by
    the drain the process's last call queued or found waiting, not left to the sweeper. Web and worker
    must agree on the setting: a worker with less than half the web's value may leave such commits to
    the sweeper."""
    return current_app.config.get("OUTBOX_DRAIN_SIGNAL_MS", 0) / 1000


def queue_drain(quiet_seconds: float = 0) -> bool:
    """Queue a drain unless one is waiting; False when Redis is unreachable (the sweeper catches up).
    `quiet_seconds`: see `queue.enqueue_once`."""
    return enqueue_once(drain, DRAIN_KEY, queue=OUTBOX_QUEUE, job_timeout=DRAIN_JOB_TIMEOUT,
                        quiet_seconds=quiet_seconds)


def queue_drain_after_commit(quiet_seconds: float = 0) -> None:
    """`queue_drain` once the current transaction commits (however many times it was asked for); nothing
    if it rolls back. `quiet_seconds`: see `queue.enqueue_once`."""
    enqueue_once_after_commit(drain, DRAIN_KEY, queue=OUTBOX_QUEUE, job_timeout=DRAIN_JOB_TIMEOUT,
                              quiet_seconds=quiet_seconds)


@app_job
def drain() -> int:
    """RQ job: deliver due messages, a chunk at a time, until none is left. Returns how many it attempted.

    After its first claim it queues another drain, so that an idle worker joins in on a backlog; after
    DRAIN_SECONDS it hands what is left to that one. When it first runs out of work it looks once more
    after twice OUTBOX_DRAIN_SIGNAL_MS, for commits that did not ask for a drain."""
    waiting_job_started(DRAIN_KEY)
    deadline = time.monotonic() + DRAIN_SECONDS
    linger = 2 * drain_signal_seconds()
    attempted = 0
    while time.monotonic() < deadline:
        claimed_at = utcnow()
        messages, probe = claiming.claim_chunk(claimed_at, DRAIN_CHUNK)
        if not messages:
            if linger <= 0:
                return attempted
            time.sleep(linger)  # for commits that skipped asking for a drain (`queue.enqueue_once`'s quiet time)
            linger = 0
            continue
        if attempted == 0:
            queue_drain()
        attempted += _deliver_chunk(messages, claimed_at, probe, min(deadline, time.monotonic() + CHUNK_SECONDS))
    queue_drain()
    return attempted


def _deliver_chunk(messages: list[Message], claimed_at: datetime, probe: bool, ends: float) -> int:
    """Deliver claimed messages in order, recording them in one transaction when the chunk ends: at its
    first failure (recorded after the successes before it, so that the breaker counts in order, and so that
    a claim after it sees a breaker that opened or a pause), or at `ends` (time.monotonic()). Messages not
    attempted are given back. Returns how many were attempted. A worker killed meanwhile leaves the chunk
    claimed: the sweeper gives it to another worker when the lease ends, and deliveries not yet recorded
    are sent again under the same idempotency key."""
    delivered: list[Delivered] = []
    attempted = 0
    try:
        for message in messages:
            if attempted and time.monotonic() >= ends:
                break
            attempted += 1
            try:
                if _attempt(message, utcnow(), probe, delivered) != "delivered":
                    break
            except Exception as exc:  # noqa: BLE001 (its retry is recorded; the chunk ends, the drain goes on)
                log.error("outbox delivery failed with an internal error",
                          extra={"outbox_id": message.id, "error": type(exc).__name__})
                break
        claiming.release([message.id for message in messages[attempted:]], claimed_at)
        _record_delivered(delivered)
        db.session.commit()
    except Exception as exc:  # noqa: BLE001 (the chunk stays claimed until its lease ends: the sweeper retries it)
        db.session.rollback()
        log.error("outbox delivery could not be recorded", extra={"error": type(exc).__name__})
    return attempted


@app_job
def deliver(message_id: str, attempts: int | None = None) -> str:
    """RQ job: one delivery attempt of one message (a retry, a replay, the sweeper's). Returns what
    happened, for the job's result.

    `attempts` is the message's attempt count when the job was enqueued. A second job for the same
    attempt (the sweeper's, while the first waited in a long queue) finds the count moved on and does
    nothing, instead of trying again at once and ignoring the backoff. A job that comes while the
    message's destination is held ("held") does nothing either: a resume or the breaker's probe brings
    the message back."""
    started = utcnow()
    kind = db.session.scalar(select(OutboxMessage.kind).where(OutboxMessage.id == message_id))
    if kind is None:
        return "skipped"
    destination, probe = destinations.destination_of(kind), False
    gate = destinations.gates(started)
    if kind in gate.held:
        return "held"
    if destination in gate.probe_ready:
        probe = destinations.take_probe(destination, started)
        if not probe:
            db.session.commit()
            return "held"
    if not claiming.claim(message_id, started, attempts):
        if probe:
            destinations.release_probe(destination, started)
            db.session.commit()
        return "skipped"
    delivered: list[Delivered] = []
    try:
        outcome = _attempt(claiming.claimed_rows([message_id], started)[0], started, probe, delivered)
    finally:
        _record_delivered(delivered)
        db.session.commit()  # an internal error's retry too; RQ then shows the job as failed
    return outcome


def _attempt(message: Message, started: datetime, probe: bool, delivered: list[Delivered]) -> str:
    """One delivery attempt of a message this worker has claimed (as its destination's probe, if `probe`).
    A success joins `delivered`, to be recorded with it; a failure is recorded now, after `delivered`,
    which it empties. A failing handler's writes are undone, and only its writes (`handlers.own_writes`).
    Does not commit (but see `handlers.own_writes` on SQLite). An internal error is recorded as a retry, then raised."""
    registered = handler_for(message.kind)
    try:
        if registered is None:
            raise Permanent(f"no handler for kind {message.kind}")
        with own_writes():
            status_code = registered.deliver(message)
    except Deferred as exc:
        _record_delivered(delivered)
        return _defer(message.id, exc, probe)
    except DeliveryError as exc:
        _record_delivered(delivered)
        return _record_failure(message.id, started, exc, probe)
    except Exception as exc:
        _record_delivered(delivered)
        _record_failure(message.id, started, Retryable(f"internal error: {type(exc).__name__}"), probe,
                        peer_failed=False)
        raise  # the row itself is already scheduled for its retry
    delivered.append(Delivered(message, started, utcnow(), status_code))
    return "delivered"


def _record_delivered(delivered: list[Delivered]) -> None:
    """Record the deliveries in `delivered` (and empty it); their destinations' breakers close, and if one
    was open or counting, a drain takes its backlog after the commit."""
    if recording.record_delivered(delivered, utcnow()):
        queue_drain_after_commit()
    delivered.clear()


def _peer_answered(destination: str) -> None:
    """The destination answered: its breaker closes, and if it was open or counting, the backlog flows."""
    if destinations.delivered(destination, utcnow()):
        queue_drain_after_commit()


def _defer(message_id: str, exc: Deferred, probe: bool) -> str:
    message = db.session.get(OutboxMessage, message_id)
    if probe:
        destinations.release_probe(handler_for(message.kind).destination, utcnow())
    message.next_attempt_at = utcnow() + timedelta(seconds=exc.delay_seconds)
    message.claimed_until = message.enqueued_at = None
    message.last_error = f"deferred: {exc}"[:recording.ERROR_LENGTH]
    enqueue_after_commit(deliver, message.id, message.attempts, queue=OUTBOX_QUEUE, delay_seconds=exc.delay_seconds)
    return "deferred"


def _record_failure(message_id: str, started: datetime, exc: DeliveryError, probe: bool,
                    peer_failed: bool = True) -> str:
    """Schedule the retry of a failed attempt, or end the message dead; tell its destination's breaker
    (`peer_failed`: the failure is the peer's, not an internal error). Does not commit."""
    message = db.session.get(OutboxMessage, message_id)
    registered = handler_for(message.kind)
    destination = registered.destination if registered else message.kind
    retryable = isinstance(exc, Retryable)
    if retryable and peer_failed:
        if probe:
            return _hold_after_probe(message, started, exc, destination)
        if destinations.failed(destination, str(exc), utcnow(), probe=False):
            _breaker_opened(destination)
    elif exc.status_code is not None:  # the peer answered, if only to refuse
        _peer_answered(destination)
    backoff = policy.backoff_for(message.kind)
    attempts_after = message.attempts + 1
    if retryable and attempts_after <= len(backoff):
        delay = policy.retry_delay(backoff[attempts_after - 1], exc.retry_after)
        recording.finish(message, started, utcnow(), "retry", exc.status_code, str(exc))
        message.next_attempt_at = utcnow() + timedelta(seconds=delay)
        enqueue_after_commit(deliver, message.id, message.attempts, queue=OUTBOX_QUEUE, delay_seconds=delay)
        return "retry"
    recording.finish(message, started, utcnow(), "dead", exc.status_code, str(exc))
    message.status = Status.DEAD
    if registered and registered.on_dead:
        registered.on_dead(message)
    _queue_alert_check()
    return "dead"


def _hold_after_probe(message: OutboxMessage, started: datetime, exc: DeliveryError, destination: str) -> str:
    """The probe failed: the breaker opens for another cool-down and the message waits for it, recorded
    (outcome `probe_failed`) but keeping its attempts."""
    now = utcnow()
    destinations.failed(destination, str(exc), now, probe=True)
    recording.record_attempt(message, started, now, "probe_failed", exc.status_code, str(exc))
    message.next_attempt_at = now + timedelta(seconds=current_app.config["OUTBOX_BREAKER_COOLDOWN_SECONDS"])
    _drain_after_cooldown()
    return "held"


def _breaker_opened(destination: str) -> None:
    log.warning("outbox circuit breaker opened", extra={"destination": destination})
    _drain_after_cooldown()


def _drain_after_cooldown() -> None:
    """Once the transaction that opened a breaker commits, a drain is queued for the end of the cool-down,
    so that the probe goes on time (the sweeper would queue one within a minute anyway)."""
    enqueue_after_commit(drain, queue=OUTBOX_QUEUE,
                         delay_seconds=current_app.config["OUTBOX_BREAKER_COOLDOWN_SECONDS"])
    _queue_alert_check()


def _queue_alert_check() -> None:
    """Once the transaction commits, the app's alert check (alerts.py, a periodic job) runs now, not at its
    next minute. Found through the app's registry: alerts.py builds on this module."""
    check = registry().periodic_jobs.get(ALERT_CHECK_JOB)
    if check is not None:
        enqueue_once_after_commit(check.func, ALERT_CHECK_KEY, queue=PERIODIC_QUEUE)
