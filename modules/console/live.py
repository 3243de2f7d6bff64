"""`GET /console/live?topics=records,deliveries`: the console's server-sent events (console.js listens).

A signed-in operator's stream of the events published on Redis (modules/core/live.py) whose topic is asked
for, as `event: <topic>` with `data: <json>`; a comment every HEARTBEAT_SECONDS keeps proxies from closing
an idle stream and finds a client gone; a `retry:` line tells the browser when to come back. A stream ends
after STREAM_SECONDS (the browser's EventSource opens a new one, signed in again) and when its client goes
away. Without a sign-in the answer is the usual redirect to the sign-in page, never a stream.

A stream does not hold a worker: under gunicorn's gevent workers (gunicorn.conf.py) it is a greenlet
waiting on Redis's socket, which gevent makes cooperative; the threaded development server gives it a
thread. Nor does it hold a database connection: the sign-in's read is over before the stream starts.
When Redis is unreachable, the answer is a stream that only asks the browser to come back in
RETRY_UNAVAILABLE_MS.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator

from flask import Response, abort, g, request
from redis import Redis
from redis.client import PubSub

from modules.console.access import page
from modules.console.blueprint import blp
from modules.core.extensions import db
from modules.core.live import CHANNEL, TOPICS
from modules.core.redis_client import REDIS_ERRORS, get_redis

STREAM_SECONDS = 300.0  # a stream ends after this long; the browser reconnects
HEARTBEAT_SECONDS = 15.0  # a comment line after this long without an event
RETRY_MS = 2000  # when the browser comes back after a stream ended
RETRY_UNAVAILABLE_MS = 30000  # when it comes back while Redis is unreachable
MAX_STREAMS = 10  # open streams per operator at once (tabs, phones); more get a 429 until one ends
SLOT_SECONDS = int(STREAM_SECONDS) + 60  # how long a stream count lives after its last stream began
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffers or caches a stream


@blp.route("/live")
@page(background=True)
def live():
    topics = asked_topics(request.args.get("topics", ""))
    operator_id = g.operator.id
    db.session.close()  # the sign-in's read is over: give its connection back before streaming
    try:
        slot = StreamSlot.taken(operator_id)
        listener = get_redis().pubsub(ignore_subscribe_messages=True)
        listener.subscribe(CHANNEL)
    except REDIS_ERRORS:
        return _event_stream(iter([f"retry: {RETRY_UNAVAILABLE_MS}\n: live updates unavailable\n\n"]))
    return _event_stream(slot.held_by(stream(listener, topics, STREAM_SECONDS)))


class StreamSlot:
    """One of an operator's MAX_STREAMS open streams, counted in Redis across every web process: each stream
    holds a Redis connection and a server connection, so one sign-in must not open thousands. The count
    expires SLOT_SECONDS after its last stream began, so a count a killed process never gave back heals."""

    def __init__(self, connection: Redis, key: str):
        self.connection, self.key, self.released = connection, key, False

    @classmethod
    def taken(cls, operator_id: str) -> StreamSlot:
        """A slot for `operator_id`, or a 429 page when they hold MAX_STREAMS already."""
        key = f"console:live-streams:{operator_id}"
        connection = get_redis()
        count, _ = connection.pipeline().incr(key).expire(key, SLOT_SECONDS).execute()
        if count > MAX_STREAMS:
            connection.decr(key)
            abort(429, f"{MAX_STREAMS} live pages are open already: close one, or use the Refresh link.")
        return cls(connection, key)

    def held_by(self, chunks: Iterator[str]) -> Iterable[str]:
        """`chunks`, giving the slot back when the server closes them (the stream ended or its client left),
        even if they never started."""
        return _Closing(chunks, self.release)

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        try:
            self.connection.decr(self.key)  # the server may close a stream after its request context
        except REDIS_ERRORS:
            pass  # the count expires by itself


class _Closing:
    """An iterable whose `close` (called by the WSGI server) also runs `then`."""

    def __init__(self, chunks: Iterator[str], then: Callable[[], None]):
        self.chunks, self.then = chunks, then

    def __iter__(self) -> Iterator[str]:
        return self.chunks

    def close(self) -> None:
        try:
            self.chunks.close()
        finally:
            self.then()


def asked_topics(value: str) -> frozenset[str]:
    """The topics of `?topics=a,b` (every topic when none is named); an unknown one is a 400."""
    names = {name.strip() for name in value.split(",") if name.strip()}
    unknown = sorted(names - set(TOPICS))
    if unknown:
        abort(400, f"Unknown live topic(s): {', '.join(unknown)}; the topics are {', '.join(TOPICS)}.")
    return frozenset(names or TOPICS)


def stream(listener: PubSub, topics: frozenset[str], seconds: float) -> Iterator[str]:
    """The event stream of `listener` (subscribed to CHANNEL) for `topics`, for at most `seconds`. Closing
    the generator (the client went away) or Redis failing ends it; the subscription ends with it."""
    ends = time.monotonic() + seconds
    try:
        yield f"retry: {RETRY_MS}\n: live\n\n"
        beat = time.monotonic() + HEARTBEAT_SECONDS
        while (now := time.monotonic()) < ends:
            message = listener.get_message(timeout=min(beat, ends) - now)
            chunk = as_event(message, topics) if message else None
            if chunk is None and time.monotonic() >= beat:
                chunk = ": keep-alive\n\n"
            if chunk is not None:
                yield chunk
                beat = time.monotonic() + HEARTBEAT_SECONDS
    except REDIS_ERRORS:
        return  # the browser comes back after RETRY_MS
    finally:
        listener.close()


def as_event(message: dict, topics: frozenset[str]) -> str | None:
    """One published message as an SSE event, or None when its topic is not asked for (or it is not ours)."""
    if message.get("type") != "message":
        return None
    try:
        published = json.loads(message["data"])
        topic, data = published["topic"], published["data"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(topic, str) or topic not in topics:
        return None
    return f"event: {topic}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _event_stream(chunks: Iterable[str]) -> Response:
    return Response(chunks, mimetype="text/event-stream", headers=HEADERS)
