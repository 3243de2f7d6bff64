"""The outbox delivers at least once to a real HTTP peer through real Redis and real workers."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import psutil
import pytest
from sqlalchemy import select
from werkzeug import Response

from modules.core import outbox, queue
from modules.core.config import PROJECT_ROOT
from modules.core.extensions import db
from modules.core.models import OutboxAttempt, OutboxMessage
from modules.core.queue import get_queue
from modules.core.redis_client import get_redis
from modules.core.types import utcnow
from tests.support.handlers import KIND


def add_message(app, url, body=None):
    with app.app_context():
        message_id = outbox.add(KIND, {"url": url, "body": body or {"hello": "peer"}}, subject_id="subject-1")
        db.session.commit()
        return message_id


def load(app, message_id):
    with app.app_context():
        message = db.session.get(OutboxMessage, message_id)
        outcomes = db.session.scalars(select(OutboxAttempt.outcome).where(OutboxAttempt.outbox_id == message_id)
                                      .order_by(OutboxAttempt.number)).all()
        db.session.expunge(message)
        return message, list(outcomes)


def sweep_at(app, seconds_from_now):
    with app.app_context():
        return outbox.sweep(now=utcnow() + timedelta(seconds=seconds_from_now))


def test_a_message_is_delivered_once_with_its_idempotency_key(app, worker, httpserver):
    httpserver.expect_request("/hook", method="POST").respond_with_json({"ok": True}, status=201)
    message_id = add_message(app, httpserver.url_for("/hook"), {"n": 1})
    worker.drain()
    [(request, _)] = httpserver.log
    assert request.headers["Idempotency-Key"] == message_id
    assert request.get_json() == {"n": 1}
    message, outcomes = load(app, message_id)
    assert (message.status, message.attempts, message.last_status_code) == ("delivered", 1, 201)
    assert outcomes == ["delivered"]


def test_a_500_is_retried_on_schedule(app, worker, httpserver):
    httpserver.expect_oneshot_request("/hook").respond_with_data("down", status=500)
    httpserver.expect_request("/hook").respond_with_json({})
    message_id = add_message(app, httpserver.url_for("/hook"))
    worker.drain()
    message, outcomes = load(app, message_id)
    assert (message.status, message.attempts, message.last_status_code, outcomes) == ("pending", 1, 500, ["retry"])
    wait = (message.next_attempt_at - utcnow()).total_seconds()
    assert 7 < wait <= 12, "first retry follows the kind's backoff (10 s, jittered by +-20%)"
    with app.app_context():
        assert get_queue().scheduled_job_registry.get_job_ids(), "the retry is scheduled on RQ"
    assert sweep_at(app, 5) == 0, "not due yet"
    assert sweep_at(app, 45) == 1
    worker.drain()
    message, outcomes = load(app, message_id)
    assert (message.status, outcomes) == ("delivered", ["retry", "delivered"])
    assert [r.headers["Idempotency-Key"] for r, _ in httpserver.log] == [message_id, message_id]


def test_retries_end_dead_after_the_last_attempt(app, worker, httpserver):
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    message_id = add_message(app, httpserver.url_for("/hook"))
    worker.drain()
    for seconds in (45, 200):
        assert sweep_at(app, seconds) == 1
        worker.drain()
    message, outcomes = load(app, message_id)
    assert (message.status, outcomes) == ("dead", ["retry", "retry", "dead"])


def test_a_400_goes_dead_at_once_and_replay_delivers_it(app, worker, httpserver, runner):
    httpserver.expect_oneshot_request("/hook").respond_with_data("bad", status=400)
    httpserver.expect_request("/hook").respond_with_json({})
    message_id = add_message(app, httpserver.url_for("/hook"))
    worker.drain()
    message, outcomes = load(app, message_id)
    assert (message.status, message.last_status_code, outcomes) == ("dead", 400, ["dead"])
    assert sweep_at(app, 3600) == 0, "dead messages are not retried"
    result = runner.invoke(args=["outbox", "list", "--status", "dead"])
    assert message_id in result.output
    result = runner.invoke(args=["outbox", "replay", message_id])
    assert "replayed 1" in result.output
    worker.drain()
    message, outcomes = load(app, message_id)
    assert (message.status, outcomes) == ("delivered", ["dead", "delivered"])


def test_a_connection_refused_is_retried(app, worker):
    message_id = add_message(app, "http://127.0.0.1:1/nothing-listens")
    worker.drain()
    message, outcomes = load(app, message_id)
    assert (message.status, outcomes) == ("pending", ["retry"])
    assert message.last_error.startswith("connection failed")


def test_a_message_rolled_back_with_its_transaction_is_never_sent(app, worker, httpserver):
    with app.app_context():
        outbox.add(KIND, {"url": httpserver.url_for("/hook"), "body": {}})
        db.session.rollback()
        assert db.session.scalar(select(OutboxMessage.id)) is None
    worker.drain()
    assert httpserver.log == []


def test_a_row_committed_while_redis_is_down_is_delivered_by_the_sweeper(app, worker, httpserver, redis_server):
    httpserver.expect_request("/hook").respond_with_json({})
    redis_server.stop()
    try:
        message_id = add_message(app, httpserver.url_for("/hook"))
    finally:
        redis_server.start()
    assert load(app, message_id)[0].status == "pending"
    worker.drain()
    assert httpserver.log == [], "nothing was queued while Redis was down"
    assert sweep_at(app, 31) == 1
    with app.app_context():
        assert [job.func_name for job in get_queue().jobs] == ["modules.core.outbox.delivery.drain"], \
            "a never-tried row is left to a drain, not given a job of its own"
    worker.drain()
    assert load(app, message_id)[0].status == "delivered"


CLAIM_SECONDS = 2


def _start_worker(base_config):
    env = {**os.environ, **{k: str(v) for k, v in base_config.items() if k != "TESTING"}, "HUB_ENV_FILE": "",
           "OUTBOX_CLAIM_SECONDS": str(CLAIM_SECONDS)}
    return subprocess.Popen([sys.executable, "-m", "tests.support.worker_main"], cwd=PROJECT_ROOT, env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_a_worker_killed_mid_delivery_is_replaced_and_the_message_delivered(app, httpserver, base_config):
    first_request_arrived = threading.Event()
    keys = []

    def peer(request):
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            first_request_arrived.set()
            time.sleep(3)  # the worker dies while waiting for this answer
        return Response("{}", status=200, content_type="application/json")

    httpserver.expect_request("/hook").respond_with_handler(peer)
    message_id = add_message(app, httpserver.url_for("/hook"))
    first = _start_worker(base_config)
    try:
        assert first_request_arrived.wait(30), "the first worker started the delivery"
        # RQ's work horse runs in a session of its own: kill it with its worker, as a crash would.
        for process in [*psutil.Process(first.pid).children(recursive=True), psutil.Process(first.pid)]:
            process.kill()
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    message, _ = load(app, message_id)
    assert message.status == "pending" and message.claimed_until is not None

    time.sleep(CLAIM_SECONDS)  # the dead worker's claim runs out
    second = _start_worker(base_config)
    try:
        sweep_at(app, 31)  # the drain the first worker queued as it started may deliver first
        _wait_for(lambda: load(app, message_id)[0].status == "delivered")
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        second.wait(20)
    assert keys == [message_id, message_id], "the peer saw the same Idempotency-Key twice"


@pytest.mark.parametrize("path", ["/api/admin/outbox", "/api/admin/outbox/stats"])
def test_outbox_admin_api_needs_an_operator(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.get_json() == {"detail": "Invalid authentication credentials"}


def test_a_deferred_message_waits_without_using_an_attempt(app, worker, httpserver):
    httpserver.expect_request("/hook").respond_with_json({})
    message_id = add_message(app, "")
    worker.drain()
    message, outcomes = load(app, message_id)
    assert (message.status, message.attempts, outcomes) == ("pending", 0, [])
    assert message.last_error == "deferred: no URL configured yet"
    assert 55 < (message.next_attempt_at - utcnow()).total_seconds() <= 60
    with app.app_context():
        db.session.get(OutboxMessage, message_id).payload = {"url": httpserver.url_for("/hook"), "body": {}}
        db.session.commit()
    assert sweep_at(app, 100) == 1
    worker.drain()
    message, outcomes = load(app, message_id)
    assert (message.status, message.attempts, outcomes) == ("delivered", 1, ["delivered"])


def test_commits_in_a_row_queue_one_drain_that_delivers_them_all(app, worker, httpserver):
    httpserver.expect_request("/hook").respond_with_json({})
    ids = [add_message(app, httpserver.url_for("/hook"), {"n": n}) for n in range(3)]
    with app.app_context():
        assert [job.func_name for job in get_queue().jobs] == ["modules.core.outbox.delivery.drain"], \
            "three commits, one queued job"
    worker.drain()
    assert sorted(request.get_json()["n"] for request, _ in httpserver.log) == [0, 1, 2]
    assert [load(app, message_id)[0].status for message_id in ids] == ["delivered"] * 3


def test_a_process_asks_redis_for_a_drain_at_most_once_per_signal_quiet_time(make_app, httpserver):
    default, long_quiet = make_app(OUTBOX_DRAIN_SIGNAL_MS=100), make_app(OUTBOX_DRAIN_SIGNAL_MS=2000)
    queue._asked_at.clear()  # this process's memory of its last ask, from earlier tests
    with default.app_context():
        redis = get_redis()
    redis.config_resetstat()
    add_message(default, httpserver.url_for("/hook"))
    assert redis.info("commandstats")["cmdstat_set"]["calls"] == 1, "the first commit asks"
    add_message(long_quiet, httpserver.url_for("/hook"))
    assert redis.info("commandstats")["cmdstat_set"]["calls"] == 1, "a commit within the quiet time does not"
    with default.app_context():
        assert [job.func_name for job in get_queue().jobs] == ["modules.core.outbox.delivery.drain"]
    time.sleep(0.1)
    redis.delete(queue.WAITING_KEY_PREFIX + outbox.delivery.DRAIN_KEY)  # as the drain does when it starts
    add_message(default, httpserver.url_for("/hook"))
    assert redis.info("commandstats")["cmdstat_set"]["calls"] == 2, "after the quiet time it asks again"
    with default.app_context():
        assert len(get_queue().jobs) == 2


def test_a_commit_in_the_signal_quiet_time_asks_no_redis_and_the_lingering_drain_takes_it(make_app, httpserver):
    """OUTBOX_DRAIN_SIGNAL_MS: a process asks for a drain at most once per quiet time (here its last ask is
    the drain's own, queueing a successor after its first claim); a drain that runs out of work looks
    again after twice that, so a commit that did not ask is delivered all the same."""
    httpserver.expect_request("/hook").respond_with_json({})
    app = make_app(OUTBOX_DRAIN_SIGNAL_MS=2000)
    queue._asked_at.clear()  # this process's memory of its last ask, from earlier tests
    first = add_message(app, httpserver.url_for("/hook"), {"n": 1})
    with app.app_context():
        redis = get_redis()
    drained = []

    def run_the_queued_drain():
        with app.app_context():
            drained.append(outbox.drain())

    draining = threading.Thread(target=run_the_queued_drain)
    draining.start()
    deadline = time.monotonic() + 5
    while not httpserver.log and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # the drain has found nothing more and lingers
    redis.config_resetstat()
    second = add_message(app, httpserver.url_for("/hook"), {"n": 2})
    assert "cmdstat_set" not in redis.info("commandstats"), "the second commit did not ask Redis"
    draining.join(10)
    assert drained == [2]
    assert [load(app, message_id)[0].status for message_id in (first, second)] == ["delivered"] * 2


def test_a_drain_goes_on_after_a_handler_crashes(app, httpserver):
    httpserver.expect_request("/hook").respond_with_json({})
    with app.app_context():
        broken = outbox.add(KIND, {"body": {}})  # no "url": the handler raises KeyError
        db.session.commit()
    fine = add_message(app, httpserver.url_for("/hook"))
    with app.app_context():
        assert outbox.drain() == 2, "one drain attempted both, the broken one first"
    assert load(app, fine)[0].status == "delivered"
    message, outcomes = load(app, broken)
    assert (message.status, outcomes, message.last_error) == ("pending", ["retry"], "internal error: KeyError")


def test_a_partners_cookie_is_never_sent_back(app, worker, httpserver):
    httpserver.expect_request("/hook").respond_with_response(
        Response("{}", content_type="application/json", headers={"Set-Cookie": "session=from-the-peer; Path=/"}))
    add_message(app, httpserver.url_for("/hook"))
    worker.drain()
    add_message(app, httpserver.url_for("/hook"))
    worker.drain()
    assert [request.headers.get("Cookie") for request, _ in httpserver.log] == [None, None]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_and_its_target_is_recorded(app, worker, httpserver, status):
    """A 301/302 would turn the POST into a bodiless GET that looks delivered, a 307 would resend the body
    and its headers to wherever it points: the message fails, naming the status and the Location."""
    elsewhere = "http://user:secret-password@127.0.0.1:9/collect?token=secret-in-the-query"
    httpserver.expect_request("/hook", method="POST").respond_with_response(
        Response(status=status, headers={"Location": elsewhere}))
    httpserver.expect_request("/collect").respond_with_data("taken")
    message_id = add_message(app, httpserver.url_for("/hook"))
    worker.drain()
    message, outcomes = load(app, message_id)
    assert (message.status, outcomes, message.last_status_code) == ("dead", ["dead"], status)
    assert "http://127.0.0.1:9/collect" in message.last_error
    assert "secret-in-the-query" not in message.last_error and "secret-password" not in message.last_error
    assert [request.path for request, _ in httpserver.log] == ["/hook"]
