"""The app's Redis connection, and the pause that keeps an unreachable Redis from slowing requests.

One connection pool per app (`get_redis`). A caller whose Redis call failed pauses its own use of
Redis for REDIS_RETRY_PAUSE_SECONDS (`pause_redis(user)`, `redis_paused(user)`): an outage then costs
one timeout, not one per request. Users pause independently (enqueueing, the rate limits).
"""

from __future__ import annotations

import time

import redis
from flask import Flask, current_app

from modules.core import embedded_redis

# What a Redis call raises when Redis is down, restarting or unreachable.
REDIS_ERRORS = (redis.exceptions.RedisError, OSError)

_paused_until: dict[str, float] = {}


def redis_url(app: Flask) -> str:
    """REDIS_URL, or the embedded Redis's socket in the instance folder."""
    return app.config.get("REDIS_URL") or embedded_redis.url_for(embedded_redis.socket_path(app.instance_path))


def get_redis(app: Flask | None = None) -> redis.Redis:
    app = app or current_app._get_current_object()
    connection = app.extensions.get("hub_redis")
    if connection is None:
        connection = redis.Redis.from_url(
            redis_url(app), socket_connect_timeout=1, socket_timeout=5, health_check_interval=30
        )
        app.extensions["hub_redis"] = connection
    return connection


def redis_paused(user: str = "queue") -> bool:
    """True for REDIS_RETRY_PAUSE_SECONDS after a Redis call of `user` failed in this process."""
    return _paused_until.get(f"{user} {redis_url(current_app)}", 0) > time.monotonic()


def pause_redis(user: str = "queue") -> None:
    _paused_until[f"{user} {redis_url(current_app)}"] = (
        time.monotonic() + current_app.config.get("REDIS_RETRY_PAUSE_SECONDS", 5))
