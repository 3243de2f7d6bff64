"""GET /metrics: Prometheus' text format behind METRICS_KEY or an operator's token, with requests by route,
ingested records, the outbox's state per destination, deliveries by outcome (counted by a real worker),
worker and scheduler liveness, and under gunicorn the sum over every worker process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from rq import Worker
from sqlalchemy import select, update

from modules.core import metrics, outbox
from modules.core.extensions import db
from modules.core.models import OutboxMessage
from modules.core.queue import QUEUE_NAMES
from modules.core.redis_client import get_redis
from modules.core.scheduler import Scheduler
from modules.core.types import utcnow
from tests.support.handlers import KIND
from tests.support.insight import create_customer
from tests.support.link_tracking import BATCH_PATH, TRACKING_KEY
from tests.support.sentratech import INGEST_HEADERS, valid_body
from tests.support.servers import HubServer

METRICS_KEY = "test-metrics-key"
SCRAPER = {"Authorization": f"Bearer {METRICS_KEY}"}
HEALTH = ("hub_http_requests_total", {"route": "/health", "method": "GET", "status": "200"})


@pytest.fixture
def app(make_app):
    return make_app(METRICS_KEY=METRICS_KEY)


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of an exposition."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def scrape(client) -> dict:
    response = client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/plain"
    return samples(response.get_data(as_text=True))


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key"}, {"Authorization": "Basic x"},
                                     {"X-API-Key": METRICS_KEY}])
def test_metrics_need_the_key_or_an_operator(client, headers):
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Invalid authentication credentials"}
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_an_operator_token_and_every_rotated_key_are_accepted(make_app, operator_headers):
    app = make_app(METRICS_KEY=f"new-key,{METRICS_KEY}")
    client = app.test_client()
    for headers in (SCRAPER, {"Authorization": "Bearer new-key"}, operator_headers):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 200
        assert "hub_up" in {family.name for family in text_string_to_metric_families(response.get_data(as_text=True))}


def test_requests_are_counted_by_route_and_status(client):
    before = scrape(client)
    client.get("/health")
    client.get("/no/such/path/12345")
    client.get("/api/ingest/demo_requests/status", headers=INGEST_HEADERS)
    after = scrape(client)
    assert value(after, *HEALTH[:1], **HEALTH[1]) == value(before, *HEALTH[:1], **HEALTH[1]) + 1
    unmatched = {"route": "<unmatched>", "method": "GET", "status": "404"}
    assert value(after, "hub_http_requests_total", **unmatched) == value(before, "hub_http_requests_total",
                                                                        **unmatched) + 1
    routes = {dict(labels)["route"] for name, labels in after if name == "hub_http_requests_total"}
    assert not any("12345" in route or "demo_requests/status" in route for route in routes), \
        "the route label is the URL rule, never the raw path"
    assert any(route.startswith("/api/ingest/<any(") for route in routes)
    latency = ("hub_http_request_duration_seconds_count", {"route": "/health", "method": "GET"})
    assert value(after, latency[0], **latency[1]) == value(before, latency[0], **latency[1]) + 1
    assert value(after, "hub_http_requests_total", route="/metrics", method="GET", status="200") == 0, \
        "scrapes are not counted"


def test_ingested_records_are_counted_per_domain(client, operator_headers):
    before = scrape(client)
    create_customer(client, operator_headers)
    assert client.post("/api/ingest/demo_requests", json=valid_body("demo_requests"),
                       headers=INGEST_HEADERS).status_code == 200
    events = [{"tracking_id": f"link-{n % 2}", "event_id": f"metrics-{n}"} for n in range(7)]
    response = client.post(BATCH_PATH, json={"events": events}, headers={"X-API-Key": TRACKING_KEY})
    assert response.status_code == 200
    assert client.post(BATCH_PATH, json={"events": [{"clicked_at": "x"}]},
                       headers={"X-API-Key": TRACKING_KEY}).status_code == 400
    after = scrape(client)
    for domain, added in (("sentratech", 1), ("link_tracking", 7), ("insight", 1), ("fastcore", 0)):
        assert value(after, "hub_records_ingested_total", domain=domain) == \
            value(before, "hub_records_ingested_total", domain=domain) + added, domain


def test_backlog_oldest_age_and_dead_per_destination(app, client):
    with app.app_context():
        ids = [outbox.add(KIND, {"url": "", "body": {}}) for _ in range(3)]
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[0])
                           .values(created_at=utcnow() - timedelta(minutes=10)))
        db.session.execute(update(OutboxMessage).where(OutboxMessage.id == ids[2]).values(status="dead"))
        db.session.commit()
    found = scrape(client)
    assert value(found, "hub_outbox_pending", destination=KIND) == 2
    assert 600 <= value(found, "hub_outbox_oldest_pending_age_seconds", destination=KIND) < 660
    assert value(found, "hub_outbox_dead", destination=KIND) == 1
    assert value(found, "hub_outbox_pending", destination="smtp") == 0, "every destination is listed"
    assert value(found, "hub_outbox_destination_paused", destination=KIND) == 0
    assert value(found, "hub_up", component="database") == 1


def test_paused_destination_and_open_breaker_are_gauges(app, client, operator_headers):
    assert client.post(f"/api/admin/outbox/destinations/{KIND}/pause", json={"reason": "maintenance"},
                       headers=operator_headers).status_code == 200
    with app.app_context():
        from modules.core.outbox import destinations

        destinations.ensure("smtp", utcnow())
        for _ in range(app.config["OUTBOX_BREAKER_THRESHOLD"]):
            destinations.failed("smtp", "down", utcnow(), probe=False)
        db.session.commit()
    found = scrape(client)
    assert value(found, "hub_outbox_destination_paused", destination=KIND) == 1
    assert value(found, "hub_outbox_destination_breaker_open", destination="smtp") == 1
    assert value(found, "hub_outbox_destination_breaker_open", destination=KIND) == 0


def test_deliveries_by_a_real_worker_are_counted_by_outcome(app, client, worker, httpserver):
    httpserver.expect_oneshot_request("/bad").respond_with_data("no", status=400)
    httpserver.expect_request("/hook").respond_with_json({}, status=201)
    with app.app_context():
        outbox.add(KIND, {"url": httpserver.url_for("/hook"), "body": {}})
        outbox.add(KIND, {"url": httpserver.url_for("/hook"), "body": {}})
        outbox.add(KIND, {"url": httpserver.url_for("/bad"), "body": {}})
        db.session.commit()
    worker.drain()
    found = scrape(client)
    assert value(found, "hub_outbox_deliveries_total", destination=KIND, outcome="delivered") == 2
    assert value(found, "hub_outbox_deliveries_total", destination=KIND, outcome="dead") == 1
    assert value(found, "hub_outbox_pending", destination=KIND) == 0


def test_an_attempt_rolled_back_is_not_counted(app):
    with app.app_context():
        db.session.execute(select(OutboxMessage.id).limit(1))  # the attempt's transaction
        metrics.count_delivery(KIND, "delivered")
        db.session.rollback()
        db.session.commit()
        assert metrics.delivery_counts() == {}
        metrics.count_delivery(KIND, "retry")
        db.session.commit()
        assert metrics.delivery_counts() == {(KIND, "retry"): 1}


def test_worker_and_scheduler_liveness(app, client):
    found = scrape(client)
    assert value(found, "hub_workers") == 0 and value(found, "hub_scheduler_up") == 0
    with app.app_context():
        rq_worker = Worker(list(QUEUE_NAMES), connection=get_redis(app))
        rq_worker.register_birth()
    Scheduler(app).run_due(utcnow())
    found = scrape(client)
    assert value(found, "hub_workers") == 1
    assert value(found, "hub_scheduler_up") == 1
    assert 0 <= value(found, "hub_scheduler_last_tick_age_seconds") < 5
    assert value(found, "hub_queue_jobs", queue="periodic") >= 1, "the scheduler's jobs wait in their queue"
    with app.app_context():
        rq_worker.register_death()


def test_a_store_that_fails_makes_its_gauge_zero_not_a_500(make_app, tmp_path):
    app = make_app(METRICS_KEY=METRICS_KEY, REDIS_URL=f"unix://{tmp_path}/nothing.sock",
                   DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    found = scrape(app.test_client())
    assert value(found, "hub_up", component="database") == 0
    assert value(found, "hub_up", component="redis") == 0
    assert ("hub_outbox_pending", (("destination", KIND),)) not in found


def _route_count(directory: Path) -> float:
    """The /health request count that the files of `directory` hold."""
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(directory))
    return value(samples(generate_latest(registry).decode()), HEALTH[0], **HEALTH[1])


def _per_process(directory: Path, scratch: Path) -> dict[str, float]:
    """{file name: /health count} for each worker process's counter file, read one at a time."""
    counts = {}
    for path in directory.glob("counter_*.db"):
        single = scratch / path.stem
        single.mkdir(exist_ok=True)
        shutil.copy(path, single / path.name)
        counts[path.name] = _route_count(single)
    return counts


def test_gunicorn_workers_are_summed(base_config, migrated, tmp_path):
    """Two gunicorn workers serve the requests, each keeps its own file, and any scrape (served by either)
    answers their sum. A stale file left from an earlier run in the named directory is wiped at start."""
    directory = tmp_path / "multiproc"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"an earlier run's file")
    settings = {key: setting for key, setting in base_config.items() if key != "TESTING"}
    server = HubServer({**settings, "METRICS_KEY": METRICS_KEY, "PROMETHEUS_MULTIPROC_DIR": directory},
                       workers=2).wait_until_up()
    try:
        assert not (directory / "counter_1.db").exists()
        sent = 0
        with ThreadPoolExecutor(8) as pool:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                statuses = list(pool.map(lambda _: requests.get(f"{server.url}/health", timeout=10).status_code,
                                         range(40)))
                assert set(statuses) == {200}
                sent += len(statuses)
                per_process = _per_process(directory, tmp_path)
                if sum(1 for count in per_process.values() if count) >= 2:
                    break
        assert sum(1 for count in per_process.values() if count) == 2, per_process
        for _ in range(4):  # each scrape is served by one worker or the other: every one has the sum
            answer = requests.get(f"{server.url}/metrics", headers=SCRAPER, timeout=10)
            total = value(samples(answer.text), *HEALTH[:1], **HEALTH[1])
            assert total == sum(per_process.values()) >= sent
            assert total < sent + 100, "only this run's requests (and wait_until_up's probes) are counted"
    finally:
        server.stop()


def test_a_made_up_method_adds_no_series(client):
    """The method label only takes the methods HTTP defines: a client inventing methods (or sending one
    per request) must not grow the series without bound."""
    for n in range(5):
        client.open("/health", method=f"FOO{n}")
        client.open("/no/such/path", method=f"BAR{n}")
    methods = {dict(labels).get("method") for name, labels in scrape(client)
               if name.startswith("hub_http_request")}
    assert not any(method.startswith(("FOO", "BAR")) for method in methods), methods


@pytest.mark.parametrize("configured", ["", " ", ",", " , "])
def test_an_empty_metrics_key_opens_nothing(make_app, configured):
    client = make_app(METRICS_KEY=configured).test_client()
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer  "}, {"Authorization": "Bearer ,"}):
        assert client.get("/metrics", headers=headers).status_code == 401, headers


def test_the_key_in_the_query_string_or_a_deactivated_operators_token_is_refused(app, client, runner,
                                                                                 operator_headers):
    assert client.get(f"/metrics?key={METRICS_KEY}").status_code == 401
    assert client.get(f"/metrics?access_token={METRICS_KEY}").status_code == 401
    assert client.get("/metrics", headers=operator_headers).status_code == 200
    assert runner.invoke(args=["operators", "deactivate", "operator@example.com"]).exit_code == 0
    response = client.get("/metrics", headers=operator_headers)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Invalid authentication credentials"}


def test_a_named_metrics_directory_missing_on_this_machine_is_made(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR set for every process (a Heroku config var) names a directory that only
    gunicorn's master makes: a worker or a `flask` command on another machine crashed on its first count,
    after its transaction had committed (a lead flushed, a click import)."""
    directory = tmp_path / "absent" / "metrics"
    code = "from modules.core import metrics; metrics.ingested('fastcore', 2); print('counted')"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)},
                          cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "counted" and list(directory.glob("counter_*.db"))
