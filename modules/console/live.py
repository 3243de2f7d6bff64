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
from collections.abc import Iterator

from flask import Response, abort, request
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
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffers or caches a stream


@blp.route("/live")
@page(background=True)
def live():
    topics = asked_topics(request.args.get("topics", ""))
    db.session.close()  # the sign-in's read is over: give its connection back before streaming
    try:
        listener = get_redis().pubsub(ignore_subscribe_messages=True)
        listener.subscribe(CHANNEL)
    except REDIS_ERRORS:
        return _event_stream(iter([f"retry: {RETRY_UNAVAILABLE_MS}\n: live updates unavailable\n\n"]))
    return _event_stream(stream(listener, topics, STREAM_SECONDS))


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


def _event_stream(chunks: Iterator[str]) -> Response:
    return Response(chunks, mimetype="text/event-stream", headers=HEADERS)
