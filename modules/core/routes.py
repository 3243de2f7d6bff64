"""Core endpoints: health and operator login (the outbox's operator API is `modules/core/outbox/routes.py`)."""

from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from rq import Worker
from sqlalchemy.exc import SQLAlchemyError

from modules import __version__
from modules.core import auth, login_throttle, outbox, scheduler
from modules.core.errors import ApiError
from modules.core.extensions import db
from modules.core.outbox import alerts
from modules.core.redis_client import REDIS_ERRORS, get_redis
from modules.core.schemas import (
    DetailSchema,
    HealthSchema,
    LoginSchema,
    TokenSchema,
)
from modules.core.sql import probe_database
from modules.core.types import isoformat, utcnow

blp = Blueprint("core", __name__, description="Health and operator login")


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database is unreachable")
def health():
    """Database, Redis, workers, scheduler and the outbox's backlog: its pending and dead messages, each
    counted through the index on status, never by a scan of the whole table."""
    answer = service_status()
    return answer, (503 if answer["status"] != "ok" else 200)


def service_status() -> dict:
    """What `/health` answers (the console's overview shows it too): `status` is `ok` unless the database
    is unreachable."""
    answer = {"status": "ok", "version": __version__, "timestamp": isoformat(utcnow())}
    try:
        probe_database()
        answer.update(database="ok", outbox=outbox.backlog())
        answer["alerts"] = alerts.unsent()
    except SQLAlchemyError as exc:
        db.session.rollback()
        answer.update(status="unavailable", database=f"unavailable: {type(exc).__name__}")
    try:
        connection = get_redis()
        connection.ping()
        answer.update(redis="ok", workers=len(Worker.all(connection=connection)),
                      scheduler_running=scheduler.status(connection)["running"])
    except REDIS_ERRORS as exc:
        answer.update(redis=f"unavailable: {type(exc).__name__}", workers=0, scheduler_running=False)
    return answer


@blp.route("/api/auth/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=DetailSchema, description="Unknown e-mail or wrong password")
@blp.alt_response(429, schema=DetailSchema, description="Too many failed sign-ins for this e-mail or address")
def login(credentials):
    """Exchange an operator's e-mail and password for a bearer access token.

    Sign-ins are throttled per address (LOGIN_ADDRESS_RATE_LIMIT) and per e-mail from addresses the
    operator never signed in from (LOGIN_ACCOUNT_RATE_LIMIT): past either, every attempt, right or wrong,
    is a 429 with Retry-After until the window ends (modules/core/login_throttle.py)."""
    try:
        attempt = login_throttle.begin(credentials["email"], request.remote_addr)
    except login_throttle.Throttled as throttled:
        raise ApiError(429, body={"detail": str(throttled)},
                       headers={"Retry-After": str(throttled.retry_after)}) from None
    operator = auth.authenticate(credentials["email"], credentials["password"])
    if operator is None:
        raise ApiError(401, body={"detail": "Incorrect email or password"}, headers={"WWW-Authenticate": "Bearer"})
    attempt.succeeded()
    return auth.issue_access_token(operator)
