"""`GET /metrics`: Prometheus' text format, for a scraper holding METRICS_KEY or a signed-in operator.

An answer holds the instruments of `metrics.py` (under gunicorn summed over every worker process's files
in PROMETHEUS_MULTIPROC_DIR) and what lives in the database and Redis, read at scrape time by `HubState`:
the outbox's backlog, oldest pending message and dead messages per destination, each destination's pause
and breaker, deliveries by outcome (counted in Redis by the workers), RQ workers and queues, and the
scheduler's heartbeat. Each scrape builds its own registry with one `HubState`, so nothing is counted
twice. A store that fails or is slow (PostgreSQL statements stop after STATEMENT_TIMEOUT_MS) costs its
families, never the answer: `hub_up{component}` says 0 for it instead.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

from flask import Flask, Response
from flask_smorest import Blueprint
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from rq import Queue, Worker
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from modules.core import metrics, scheduler
from modules.core.access import OPERATOR_SCHEME, Guard, refuse_bearer
from modules.core.extensions import api, db
from modules.core.models import OutboxDestination, OutboxMessage
from modules.core.outbox import destinations
from modules.core.outbox.handlers import Status
from modules.core.queue import QUEUE_NAMES
from modules.core.redis_client import REDIS_ERRORS, get_redis
from modules.core.sql import on_postgresql
from modules.core.types import utcnow

METRICS_SCHEME = "metricsBearer"
STATEMENT_TIMEOUT_MS = 2000

blp = Blueprint("metrics", __name__, description="Prometheus metrics")
guard = Guard(refuse_bearer)
log = logging.getLogger(__name__)


@blp.route("/metrics", endpoint="scrape")
@guard.bearer_key("METRICS_KEY", scheme=(METRICS_SCHEME, OPERATOR_SCHEME), operators=True)
@blp.doc(responses={200: {"description": "Prometheus' text exposition format",
                          "content": {"text/plain": {"schema": {"type": "string"}}}}})
def scrape():
    """Every metric of this host in Prometheus' text format. Bearer METRICS_KEY, or an operator's token."""
    registry = CollectorRegistry(auto_describe=False)
    if metrics.MULTIPROCESS:
        MultiProcessCollector(registry)
    else:
        registry.register(_Local())
    registry.register(HubState())
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Register `/metrics` and its security scheme (call after the API is bound to `app`)."""
    api.register_blueprint(blp)
    api.spec.components.security_scheme(METRICS_SCHEME, {"type": "http", "scheme": "bearer",
                                                         "description": "METRICS_KEY"})


class _Local:
    """This process's instruments (`metrics.LOCAL`), outside gunicorn."""

    def collect(self) -> Iterator[Metric]:
        return metrics.LOCAL.collect()


class HubState:
    """A collector of what the database and Redis know, read once per scrape (in the request's app context)."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("hub_up", "1 when the component answered this scrape's queries, else 0",
                               labels=["component"])
        for component, read in (("database", _outbox_families), ("redis", _redis_families)):
            try:
                found = list(read())
            except (SQLAlchemyError, *REDIS_ERRORS) as exc:
                db.session.rollback()
                log.warning("metrics: a component did not answer", extra={"component": component,
                                                                         "error": type(exc).__name__})
                up.add_metric([component], 0)
                continue
            up.add_metric([component], 1)
            yield from found
        yield up


def _outbox_families() -> Iterator[Metric]:
    """Per destination: pending and dead messages, the oldest pending one's age, pause and breaker. Two
    grouped counts through the index that leads with status, and the small destination table."""
    now = utcnow()
    try:
        if on_postgresql():
            db.session.execute(text(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}"))
        counted = db.session.execute(
            select(OutboxMessage.kind, OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
            .where(OutboxMessage.status.in_([Status.PENDING.value, Status.DEAD.value]))
            .group_by(OutboxMessage.kind, OutboxMessage.status)).all()
        rows = db.session.execute(select(OutboxDestination.name, OutboxDestination.paused,
                                         OutboxDestination.breaker, OutboxDestination.failures)).all()
    finally:
        db.session.rollback()
    names = sorted(set(destinations.names()) | {row.name for row in rows})
    pending, dead, oldest = dict.fromkeys(names, 0), dict.fromkeys(names, 0), {}
    for kind, status, count, first in counted:
        name = destinations.destination_of(kind)
        if status == Status.DEAD.value:
            dead[name] = dead.get(name, 0) + count
            continue
        pending[name] = pending.get(name, 0) + count
        oldest[name] = min(first, oldest.get(name, first))
    yield _gauge("hub_outbox_pending", "Messages waiting for delivery, by destination", pending)
    yield _gauge("hub_outbox_oldest_pending_age_seconds", "Age of the oldest waiting message, by destination "
                 "(0 when none waits)", {name: (now - oldest[name]).total_seconds() if name in oldest else 0
                                         for name in pending})
    yield _gauge("hub_outbox_dead", "Messages that used up their attempts, by destination", dead)
    yield from _destination_families(names, rows)


def _destination_families(names: list[str], rows: list) -> Iterator[Metric]:
    state = {row.name: row for row in rows}
    yield _gauge("hub_outbox_destination_paused", "1 while an operator has paused the destination",
                 {name: int(bool(state[name].paused)) if name in state else 0 for name in names})
    yield _gauge("hub_outbox_destination_breaker_open", "1 while the destination's circuit breaker is open or "
                 "half open", {name: int(state[name].breaker != destinations.Breaker.CLOSED) if name in state else 0
                               for name in names})
    yield _gauge("hub_outbox_destination_failures", "Consecutive retryable failures at the destination",
                 {name: state[name].failures if name in state else 0 for name in names})


def _redis_families() -> Iterator[Metric]:
    """Deliveries by outcome, RQ's workers and queues, the scheduler's heartbeat."""
    connection = get_redis()
    deliveries = CounterMetricFamily("hub_outbox_deliveries", "Delivery attempts by destination and outcome "
                                     "(delivered, retry, dead, probe_failed), counted in Redis by the workers",
                                     labels=["destination", "outcome"])
    for (destination, outcome), count in sorted(metrics.delivery_counts().items()):
        deliveries.add_metric([destination, outcome], count)
    yield deliveries
    yield GaugeMetricFamily("hub_workers", "RQ workers alive (registered, with a live heartbeat)",
                            value=len(Worker.all(connection=connection)))
    queued = GaugeMetricFamily("hub_queue_jobs", "Jobs waiting in an RQ queue", labels=["queue"])
    for name in QUEUE_NAMES:
        queued.add_metric([name], Queue(name, connection=connection).count)
    yield queued
    yield from _scheduler_families(connection)


def _scheduler_families(connection) -> Iterator[Metric]:
    """A live scheduler refreshes its heartbeat (its last tick's time) every tick; the key expires soon after."""
    beat = connection.get(scheduler.HEARTBEAT_KEY)
    yield GaugeMetricFamily("hub_scheduler_up", "1 while a scheduler's heartbeat is fresh", value=int(beat is not None))
    if beat is not None:
        last_tick = datetime.fromisoformat(beat.decode())
        yield GaugeMetricFamily("hub_scheduler_last_tick_age_seconds", "Seconds since the scheduler's last tick",
                                value=max(0.0, (datetime.now(UTC) - last_tick).total_seconds()))


def _gauge(name: str, documentation: str, values: dict[str, float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=["destination"])
    for destination, value in sorted(values.items()):
        family.add_metric([destination], value)
    return family
