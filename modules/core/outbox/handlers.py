"""What a domain writes to deliver one kind of outbox message: the handler, its backoff, and the
errors a handler raises.

`@handler(kind)` declares a delivery function (the declaration rides on the function, `func.outbox_handler`);
the domain's `init_app` registers it into the app (`register_domain(..., jobs=...)`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from enum import StrEnum

from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.registry import Handler, registry

# What a handler is given: the message row (id, kind, payload, subject_id, attempts). Handlers read it and
# may update their own rows in the session; they never commit.
Message = OutboxMessage

DEFAULT_BACKOFF = (10, 60, 300, 1800, 7200, 21600)  # seconds before each retry; 6 retries over ~8.5 h


class Status(StrEnum):
    """A message is `pending` until it is delivered or its last attempt failed (`dead`)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class DeliveryError(Exception):
    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class Retryable(DeliveryError):
    """The peer may accept later: a 5xx, 408, 429, a timeout, a refused connection. `retry_after`: the
    seconds the peer asked us to wait (its Retry-After), if it said."""

    def __init__(self, message: str, status_code: int | None = None, retry_after: float | None = None):
        super().__init__(message, status_code)
        self.retry_after = retry_after


class Permanent(DeliveryError):
    """Trying again cannot help: the peer refused the request itself."""


class Deferred(DeliveryError):
    """Not attempted, e.g. the destination is not configured yet: the message waits `delay_seconds`
    without using up an attempt, so it is delivered once the setting is there."""

    def __init__(self, message: str, delay_seconds: int = 300):
        super().__init__(message)
        self.delay_seconds = delay_seconds


def handler(kind: str, backoff: Iterable[int] = DEFAULT_BACKOFF,
            on_dead: Callable[[Message], None] | None = None, destination: str | None = None) -> Callable:
    """Declare the function that delivers messages of `kind`: `deliver(message) -> the peer's status
    code`, raising `Retryable`, `Permanent` or `Deferred`. `on_dead(message)` runs in the transaction
    that marks the message dead. `destination` names where the messages go (kinds that share a peer share
    its pause switch and circuit breaker, see destinations.py); the kind itself by default."""

    def declare(func: Callable[[Message], int | None]) -> Callable:
        func.outbox_handler = Handler(kind, func, tuple(backoff), on_dead, destination or kind)
        return func

    return declare


def handler_for(kind: str) -> Handler | None:
    """The current app's handler of `kind`, if one is registered."""
    return registry().handlers.get(kind)


@contextmanager
def own_writes() -> Iterator[None]:
    """A handler's writes, undone alone if it raises. On PostgreSQL a SAVEPOINT. On SQLite the session's
    transaction, committed before the handler runs (the writes of the handlers before it): there a
    SAVEPOINT would open the transaction and keep its read snapshot while the peer answers, and a write
    after another process's commit would then fail ("database is locked"); pysqlite opens a transaction
    at the handler's first write instead."""
    if db.session.get_bind().dialect.name != "sqlite":
        with db.session.begin_nested():
            yield
        return
    db.session.commit()
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
