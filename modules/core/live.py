"""Live events for the operator console: one Redis pub/sub channel, `hub:live`, that every console stream
listens to (modules/console/live.py), so a page served by any web process sees what any process or worker did.

A message is JSON `{"topic", "data"}`. Topics and their data:
- `records`: `{"domain"}`, a domain stored something: any 2xx answer of a domain's blueprint to a POST, PUT,
  PATCH or DELETE (`init_app`'s after-request hook, the one place for every domain);
- `deliveries`: `{"destination", "kind", "outcome"}` (outcome: delivered, retry, dead, probe_failed), once
  the transaction that recorded the attempts commits (outbox/recording.py);
- `destinations`: `{"name", "state"}` (state: paused, resumed, open, closed), once the change commits
  (outbox/control.py for pause and resume, outbox/destinations.py for the breaker).

What it costs the hot paths: nothing measurable while no console is open. A process asks Redis how many
listen (PUBSUB NUMSUB) at most once per LISTENERS_SECONDS and publishes nothing while nobody does (a console
opened meanwhile misses at most that second of events). The same message is published at most once per
REPEAT_SECONDS per process: a console refreshes a region one second after an event, after any repeat
dropped meanwhile was committed. Publishing never raises and never waits long: a call times out after
SOCKET_SECONDS, and a failed one drops the event and pauses this use of Redis (`redis_client.pause_redis`).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from flask import Flask, Response, current_app, request
from sqlalchemy import event
from sqlalchemy.orm import Session

from modules.core.extensions import db
from modules.core.redis_client import REDIS_ERRORS, pause_redis, redis_paused, redis_url
from modules.core.registry import registry

CHANNEL = "hub:live"
TOPICS = ("records", "deliveries", "destinations")
LISTENERS_SECONDS = 1.0  # how long a process trusts its last PUBSUB NUMSUB answer
REPEAT_SECONDS = 0.5  # the same message is published at most this often per process (under the console's 1 s)
SOCKET_SECONDS = 0.25  # connect and read timeout of a publish: an ingest answer never waits longer on Redis
PAUSE_USER = "live"  # redis_client's pause: a failed publish pauses publishing only
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

log = logging.getLogger(__name__)

_sent_at: dict[str, float] = {}  # by message: when this process last published it


class Listeners:
    """Per app: whether a console listened when this process last asked Redis (at `asked_at`, monotonic),
    and the client that publishes (short timeouts; the streams use get_redis)."""

    def __init__(self, app: Flask):
        self.asked_at, self.listened = float("-inf"), False
        self.client = redis.Redis.from_url(redis_url(app), socket_connect_timeout=SOCKET_SECONDS,
                                           socket_timeout=SOCKET_SECONDS)

    def nobody(self, now: float) -> bool:
        """True when nobody listened at the last answer, which is still fresh: the hot paths' one check."""
        return not self.listened and now - self.asked_at < LISTENERS_SECONDS


def publish(topic: str, data: dict[str, Any]) -> bool:
    """Publish `data` under `topic` (one of TOPICS) to every open console, now; True if it was sent.
    Skipped (False) while no console listens, for a repeat within REPEAT_SECONDS, or when Redis fails."""
    listeners, now = _listeners(), time.monotonic()
    if listeners.nobody(now) or not _listening(listeners, now):
        return False
    message = json.dumps({"topic": topic, "data": data}, sort_keys=True, separators=(",", ":"))
    if now - _sent_at.get(message, float("-inf")) < REPEAT_SECONDS:
        return False
    _sent_at[message] = now  # marked before the call, so that greenlets meanwhile do not send it too
    try:
        listeners.client.publish(CHANNEL, message)
    except REDIS_ERRORS as exc:
        _redis_failed(exc)
        return False
    return True


def publish_after_commit(topic: str, data: dict[str, Any]) -> None:
    """`publish` once the current database transaction commits (once however often it was asked for);
    nothing if it rolls back."""
    db.session().info.setdefault("live_events", {})[json.dumps([topic, data], sort_keys=True)] = (topic, data)


@event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    for topic, data in session.info.pop("live_events", {}).values():
        publish(topic, data)


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back(session: Session) -> None:
    session.info.pop("live_events", None)


def _listening(listeners: Listeners, now: float) -> bool:
    """Whether a console listens on CHANNEL, as Redis said at most LISTENERS_SECONDS ago."""
    if now - listeners.asked_at < LISTENERS_SECONDS:
        return listeners.listened
    listeners.asked_at, listeners.listened = now, False  # asked once per period: meanwhile the answer is "nobody"
    if redis_paused(PAUSE_USER):
        return False
    try:
        counts = listeners.client.pubsub_numsub(CHANNEL)
    except REDIS_ERRORS as exc:
        _redis_failed(exc)
        return False
    listeners.listened = bool(counts) and int(counts[0][1]) > 0
    return listeners.listened


def _listeners(app: Flask | None = None) -> Listeners:
    app = app or current_app._get_current_object()
    found = app.extensions.get("hub_live")
    if found is None:
        found = app.extensions["hub_live"] = Listeners(app)
    return found


def _redis_failed(exc: BaseException) -> None:
    pause_redis(PAUSE_USER)
    log.warning("redis unavailable, live event dropped", extra={"error": type(exc).__name__})


def init_app(app: Flask) -> None:
    """The `records` events: a domain's 2xx answer to a write, in one after-request hook whose cost while no
    console listens is one clock read."""
    listeners, domains = _listeners(app), registry(app).domains

    def record_stored(response: Response) -> Response:
        if listeners.nobody(time.monotonic()):
            return response
        if request.method in WRITE_METHODS and 200 <= response.status_code < 300 and request.blueprint in domains:
            publish("records", {"domain": request.blueprint})
        return response

    app.after_request(record_stored)
