"""Prometheus instruments kept by the processes that do the work: requests, ingested records, deliveries.

- **Requests** (`observe_request`, called where the access line is written, `request_log.py`): a counter by
  route, method and status, and a latency histogram by route and method. The route is the URL rule
  (`/api/links/<tracking_id>`), never the raw path, so the number of series stays bounded; a request that
  matched no rule is counted under UNMATCHED, a method HTTP does not define under OTHER_METHOD.
- **Records ingested** (`ingested(domain, n)`): a domain calls it once its transaction committed, with the
  number of records accepted (a click batch counts its events with one call).
- **Deliveries by outcome** (`count_delivery`, called by the outbox for every attempt it records): workers
  run on other machines and restart at will, so these counters live in Redis, one hash field per
  (destination, outcome), incremented once the attempt's transaction commits. Counting the attempts table
  instead would go down when retention deletes delivered messages (a counter must not) and would cost
  more with every row kept. A Redis that loses its data resets them, which Prometheus' `rate()` absorbs.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by gunicorn.conf.py before any worker imports this module)
makes prometheus_client keep every process's values in files of that directory, summed at scrape time
(`metrics_scrape.py`); elsewhere (`flask run`, tests) this process's values are its own registry.
"""

from __future__ import annotations

import logging
import os

from flask import has_app_context, request
from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import event
from sqlalchemy.orm import Session

from modules.core.extensions import db
from modules.core.redis_client import REDIS_ERRORS, get_redis, pause_redis, redis_paused

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ  # as prometheus_client decided when it was imported
if MULTIPROCESS and os.environ["PROMETHEUS_MULTIPROC_DIR"]:  # named for every process (a config var), made
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)  # by gunicorn's master only: else a
    # worker's or a command's first count, after its commit, would fail
UNMATCHED = "<unmatched>"  # the route label of a request that matched no URL rule (a 404, a bad method)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})
OTHER_METHOD = "<other>"  # the method label of any other method: a client cannot invent series
METRICS_ENDPOINT = "metrics.scrape"  # scrapes are not counted among the requests
DELIVERIES_KEY = "hub:metrics:deliveries"  # Redis hash: "<destination>|<outcome>" -> attempts
REDIS_USER = "metrics"  # its own pause after a Redis failure (redis_client.redis_paused)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

log = logging.getLogger(__name__)

LOCAL = CollectorRegistry()  # this process's instruments; under gunicorn the directory's files are read instead
REQUESTS = Counter("hub_http_requests", "HTTP requests answered, by route (URL rule), method and status",
                   ["route", "method", "status"], registry=LOCAL)
LATENCY = Histogram("hub_http_request_duration_seconds", "Time from the request's start to its answer, by route "
                    "and method", ["route", "method"], buckets=LATENCY_BUCKETS, registry=LOCAL)
INGESTED = Counter("hub_records_ingested", "Records accepted and committed, by domain (a click batch counts "
                   "its events)", ["domain"], registry=LOCAL)


def observe_request(status: int, seconds: float) -> None:
    """Count the current request's answer (`status`) and its duration (`seconds`); scrapes are left out."""
    if request.endpoint == METRICS_ENDPOINT:
        return
    route = request.url_rule.rule if request.url_rule is not None else UNMATCHED
    method = request.method if request.method in METHODS else OTHER_METHOD
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def ingested(domain: str, count: int = 1) -> None:
    """`count` records of `domain` were accepted; call it after the commit that stored them."""
    if count > 0:
        INGESTED.labels(domain).inc(count)


def count_delivery(destination: str, outcome: str) -> None:
    """One delivery attempt to `destination` ended `outcome` (delivered, retry, dead, probe_failed): counted in
    Redis once the current transaction commits, dropped if it rolls back."""
    db.session().info.setdefault("delivery_outcomes", []).append(f"{destination}|{outcome}")


def delivery_counts() -> dict[tuple[str, str], int]:
    """{(destination, outcome): attempts} since Redis last lost its data. Raises REDIS_ERRORS."""
    found = {}
    for field, value in get_redis().hgetall(DELIVERIES_KEY).items():
        destination, _, outcome = field.decode().rpartition("|")
        found[(destination, outcome)] = int(value)
    return found


@event.listens_for(Session, "after_commit")
def _count_committed_deliveries(session: Session) -> None:
    """One Redis round trip for the attempts of a transaction; a delivery never fails for want of a count."""
    counted = session.info.pop("delivery_outcomes", None)
    if not counted or not has_app_context() or redis_paused(REDIS_USER):
        return
    try:
        pipeline = get_redis().pipeline(transaction=False)
        for field in counted:
            pipeline.hincrby(DELIVERIES_KEY, field, 1)
        pipeline.execute()
    except REDIS_ERRORS as exc:
        pause_redis(REDIS_USER)  # a Redis that hangs costs one timeout, not one per delivery
        log.warning("delivery outcomes not counted: redis unavailable", extra={"error": type(exc).__name__})


@event.listens_for(Session, "after_rollback")
def _drop_rolled_back_deliveries(session: Session) -> None:
    session.info.pop("delivery_outcomes", None)
